#!/usr/bin/env python3
"""Generates the checkpoint-reader test corpus in Tests/Fixtures/malformed/.

    /work/venv/bin/python Tests/Fixtures/make_malformed.py

Writes:
  malformed/<name>           small bad files, one fault each
  malformed/expected.json    file -> {"error": CheckpointError case, "contains": substring}
  malformed/valid/*          small good files (torch.save and safetensors) and
  malformed/valid/expected.json   their tensors: name, dtype, shape, values (C order)
  malformed/valid/sam_names.json  tensor names + shapes of a tiny HF SamModel and
                                  a tiny official segment_anything Sam of the same config

Tests never need torch: the generated files are committed. Total stays < 1 MB.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch
from safetensors.numpy import save as st_save
from safetensors.torch import save as st_torch_save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "malformed")
VALID = os.path.join(OUT, "valid")
EXPECTED = {}


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def expect(name, data, error, contains):
    """Writes a bad file and records the error it must produce."""
    write(name, data)
    EXPECTED[name] = {"error": error, "contains": contains}


# ---------------------------------------------------------------- torch zips

FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def torch_zip(pkl, storages=None, prefix="archive", byteorder=b"little", deflate=(), extra_entries=()):
    """A torch-style zip (stored entries) with the given data.pkl and storages."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        def add(name, data):
            info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr(info, data)
        add("data.pkl", pkl)
        if byteorder is not None:
            add("byteorder", byteorder)
        for key, data in (storages or {}).items():
            add(f"data/{key}", data)
        add("version", b"3\n")
        for name, data in extra_entries:
            add(name, data)
    return buf.getvalue()


def zip64_everywhere(entries, short_extra=False):
    """A stored zip whose every size and offset is a ZIP64 placeholder resolved by
    0x0001 extra fields, with ZIP64 end records: the layout of a > 4 GB torch.save."""
    out, central = bytearray(), bytearray()
    for name, data in entries:
        n, crc, offset = name.encode(), zlib.crc32(data), len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(n), len(local_extra))
        out += n + local_extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        if short_extra:
            extra = struct.pack("<HHQ", 1, 8, len(data))
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(n), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + n + extra
    cd_offset = len(out)
    out += central
    record = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# Hand-written pickle pieces (protocol 2), mirroring what torch.save emits.
def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def int_(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def tuple_(*items):
    return b"(" + b"".join(items) + b"t"


def tensor_pickle(size, stride, offset=0, storage="FloatStorage", key="0", numel=6, name="w"):
    """OrderedDict([(name, _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()))])."""
    storage_pid = tuple_(unicode("storage"), b"ctorch\n" + storage.encode() + b"\n", unicode(key), unicode("cpu"), int_(numel))
    args = tuple_(storage_pid + b"Q", int_(offset), tuple_(*map(int_, size)), tuple_(*map(int_, stride)),
                  b"\x89", b"ccollections\nOrderedDict\n)R")
    return (b"\x80\x02ccollections\nOrderedDict\n)R(" + unicode(name) +
            b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"Ru.")


SIX_FLOATS = struct.pack("<6f", *range(6))


def hostile(global_line):
    return b"\x80\x02c" + global_line + b"\n" + unicode("echo pwned") + b"\x85R."


def stack_global(module, name):
    def short(s):
        return b"\x8c" + bytes([len(s)]) + s.encode()
    return b"\x80\x04" + short(module) + short(name) + b"\x93" + short("echo pwned") + b"\x85R."


class PwnPosix:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def make_torch_corpus():
    # Hostile globals, each inside an otherwise valid torch zip.
    for fname, line, shown in [
        ("pickle_global_os_system.pth", b"os\nsystem", "os.system"),
        ("pickle_global_builtins_eval.pth", b"builtins\neval", "builtins.eval"),
        ("pickle_global_posix_system.pth", b"posix\nsystem", "posix.system"),
        ("pickle_global_subprocess_popen.pth", b"subprocess\nPopen", "subprocess.Popen"),
        ("pickle_global_builtins_getattr.pth", b"builtins\ngetattr", "builtins.getattr"),
        ("pickle_global_torch_load.pth", b"torch\nload", "torch.load"),
    ]:
        expect(fname, torch_zip(hostile(line)), "forbiddenGlobal", shown)
    expect("pickle_stack_global_os_system.pth", torch_zip(stack_global("os", "system")), "forbiddenGlobal", "os.system")
    expect("pickle_stack_global_subprocess.pth", torch_zip(stack_global("subprocess", "check_output")),
           "forbiddenGlobal", "subprocess.check_output")
    expect("pickle_reduce_posix_system.pth", torch_zip(pickle.dumps(PwnPosix(), protocol=2)), "forbiddenGlobal", "posix.system")
    expect("pickle_hostile_after_tensor.pth",
           torch_zip(tensor_pickle((6,), (1,))[:-1] + b"0" + hostile(b"os\nsystem")[2:], {"0": SIX_FLOATS}),
           "forbiddenGlobal", "os.system")

    # Resource bombs and malformed streams.
    expect("pickle_huge_string_length.pth", torch_zip(b"\x80\x02X" + struct.pack("<I", 0xFFFFFFF0) + b"abc"),
           "malformedPickle", "claims 4294967280 bytes")
    expect("pickle_huge_binunicode8.pth", torch_zip(b"\x80\x02\x8d" + struct.pack("<Q", 1 << 62) + b"abc"),
           "malformedPickle", "claims")
    expect("pickle_huge_binbytes.pth", torch_zip(b"\x80\x02B" + struct.pack("<I", 0x7FFFFFFF) + b"abc"),
           "malformedPickle", "claims")
    expect("pickle_negative_binstring.pth", torch_zip(b"\x80\x02T" + struct.pack("<i", -5) + b"abc."),
           "malformedPickle", "negative length")
    expect("pickle_deep_marks.pth", torch_zip(b"\x80\x02" + b"(" * 10000 + b"."), "pickleLimitExceeded", "MARK nesting")
    expect("pickle_deep_tuples.pth", torch_zip(b"\x80\x02N" + b"\x85" * 10000 + b"."), "pickleLimitExceeded", "nested deeper")
    expect("pickle_deep_lists.pth", torch_zip(b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."),
           "pickleLimitExceeded", "nested deeper")
    expect("pickle_memo_out_of_range.pth", torch_zip(b"\x80\x02Nq\x00h\x05."), "malformedPickle", "memo index 5")
    expect("pickle_long_binget_huge.pth", torch_zip(b"\x80\x02j\xff\xff\xff\xff."), "malformedPickle", "memo index 4294967295")
    expect("pickle_stack_underflow.pth", torch_zip(b"\x80\x02R."), "malformedPickle", "needs 2 values")
    expect("pickle_unknown_opcode.pth", torch_zip(b"\x80\x02(i__builtin__\nobject\n."), "malformedPickle", "unsupported opcode")
    expect("pickle_truncated.pth", torch_zip(tensor_pickle((6,), (1,))[:60], {"0": SIX_FLOATS}), "malformedPickle", "truncated")
    expect("pickle_empty.pth", torch_zip(b""), "malformedPickle", "truncated")
    expect("pickle_setitem_on_list.pth", torch_zip(b"\x80\x02]NNs."), "malformedPickle", "SETITEM on a list")
    expect("pickle_reduce_on_int.pth", torch_zip(b"\x80\x02K\x01)R."), "malformedPickle", "not callable")
    expect("pickle_call_storage_class.pth", torch_zip(b"\x80\x02ctorch\nFloatStorage\n)R."), "malformedPickle", "cannot be called")
    expect("pickle_long1_too_wide.pth", torch_zip(b"\x80\x02\x8a\x09" + b"\x01" * 9 + b"."), "malformedPickle", "64 bits")
    expect("pickle_invalid_utf8.pth", torch_zip(b"\x80\x02X\x02\x00\x00\x00\xc3\x28."), "malformedPickle", "UTF-8")
    expect("pickle_bad_persid.pth", torch_zip(b"\x80\x02" + tuple_(unicode("storage")) + b"Q."), "malformedPickle", "persistent id")
    expect("pickle_persid_path_key.pth",
           torch_zip(tensor_pickle((6,), (1,), key="../../etc/passwd"), {"0": SIX_FLOATS}), "malformedPickle", "plain storage name")
    expect("pickle_top_is_list.pth", torch_zip(b"\x80\x02]."), "notAStateDict", "list")
    expect("pickle_no_tensors.pth", torch_zip(b"\x80\x02}(" + unicode("epoch") + b"K\x03u."), "notAStateDict", "no tensors")
    expect("pickle_non_string_key.pth",
           torch_zip(tensor_pickle((6,), (1,)).replace(unicode("w"), b"K\x07"), {"0": SIX_FLOATS}), "notAStateDict", "not a string")
    expect("pickle_duplicate_name.pth",
           torch_zip(tensor_pickle((6,), (1,))[:-2] + tensor_pickle((6,), (1,))[len(b"\x80\x02ccollections\nOrderedDict\n)R("):],
                     {"0": SIX_FLOATS}), "duplicateTensorName", "'w'")

    # Tensor metadata vs storage.
    expect("tensor_missing_storage_key.pth", torch_zip(tensor_pickle((6,), (1,), key="7"), {"0": SIX_FLOATS}),
           "missingStorage", "archive/data/7")
    expect("tensor_offset_past_storage.pth", torch_zip(tensor_pickle((2,), (1,), offset=100), {"0": SIX_FLOATS}),
           "invalidTensor", "past its storage")
    expect("tensor_size_past_storage.pth", torch_zip(tensor_pickle((10,), (1,)), {"0": SIX_FLOATS}),
           "invalidTensor", "past its storage")
    expect("tensor_stride_past_storage.pth", torch_zip(tensor_pickle((2, 3), (4, 1)), {"0": SIX_FLOATS}),
           "invalidTensor", "past its storage")
    expect("tensor_storage_bigger_than_entry.pth", torch_zip(tensor_pickle((6,), (1,), numel=1000), {"0": SIX_FLOATS}),
           "invalidTensor", "entry holds 24 bytes")
    expect("tensor_dims_overflow.pth", torch_zip(tensor_pickle((2**42 + 1, 2**22), (2**22, 1)), {"0": SIX_FLOATS}),
           "invalidTensor", "overflows")
    expect("tensor_negative_dim.pth", torch_zip(tensor_pickle((-1, 3), (3, 1)), {"0": SIX_FLOATS}),
           "invalidTensor", "negative dimension -1")
    expect("tensor_negative_stride.pth", torch_zip(tensor_pickle((2, 3), (-3, 1)), {"0": SIX_FLOATS}),
           "invalidTensor", "negative stride")
    expect("tensor_negative_offset.pth", torch_zip(tensor_pickle((2,), (1,), offset=-1), {"0": SIX_FLOATS}),
           "invalidTensor", "negative storage offset")
    expect("tensor_expanded_view.pth", torch_zip(tensor_pickle((1000, 1000), (0, 0)), {"0": SIX_FLOATS}),
           "invalidTensor", "expanded views")
    expect("tensor_size_stride_rank.pth", torch_zip(tensor_pickle((2, 3), (1,)), {"0": SIX_FLOATS}),
           "malformedPickle", "stride has 1")
    expect("tensor_unknown_dtype.pth", torch_zip(tensor_pickle((3,), (1,), storage="ComplexFloatStorage", numel=3),
                                                 {"0": SIX_FLOATS}),
           "unsupportedDType", "torch.ComplexFloatStorage")
    expect("tensor_unknown_storage_class.pth", torch_zip(tensor_pickle((3,), (1,), storage="Float8Storage"), {"0": SIX_FLOATS}),
           "forbiddenGlobal", "torch.Float8Storage")

    # Zip structure.
    good = torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS})
    expect("zip_deflated_pickle.pth", torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS}, deflate=("data.pkl",)),
           "unsupportedZipEntry", "deflate")
    expect("zip_deflated_storage.pth", torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS}, deflate=("data/0",)),
           "unsupportedZipEntry", "archive/data/0")
    expect("zip_big_endian.pth", torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS}, byteorder=b"big"),
           "unsupportedByteOrder", "big")
    expect("zip_no_data_pkl.pth", torch_zip(b"", prefix="archive").replace(b"archive/data.pkl", b"archive/data.pkx"),
           "missingZipEntry", "data.pkl")
    two = torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS}, extra_entries=[("x/data.pkl", b"N.")])
    expect("zip_two_data_pkl.pth", two.replace(b"archive/x/data.pkl", b"otherarch/data.pkl"), "malformedZip", "several data.pkl")
    data_offset = good.index(SIX_FLOATS)
    corrupt = bytearray(good)
    corrupt[data_offset + 5] ^= 0xFF
    expect("zip_crc_mismatch_storage.pth", bytes(corrupt), "checksumMismatch", "archive/data/0")
    pkl_offset = good.index(b"\x80\x02")
    corrupt = bytearray(good)
    corrupt[pkl_offset + 30] ^= 0x01
    expect("zip_crc_mismatch_pickle.pth", bytes(corrupt), "checksumMismatch", "archive/data.pkl")
    encrypted = bytearray(good)
    cd = good.index(b"PK\x01\x02")
    encrypted[cd + 8] |= 1  # general purpose flag bit 0
    expect("zip_encrypted_entry.pth", bytes(encrypted), "unsupportedZipEntry", "encrypted")

    # Truncations of a real torch.save file at every section.
    real = torch_bytes(collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3)))
    z = zipfile.ZipFile(io.BytesIO(real))
    infos = z.infolist()
    data_info = next(i for i in infos if i.filename.endswith("data/0"))
    cd_start = real.index(b"PK\x01\x02")
    eocd = real.rindex(b"PK\x05\x06")
    cuts = {
        "truncated_in_local_header.pth": 20,
        "truncated_in_pickle.pth": infos[0].header_offset + 80,
        "truncated_in_data.pth": data_info.header_offset + 100,
        "truncated_in_central_directory.pth": cd_start + 30,
        "truncated_in_zip64_end.pth": real.index(b"PK\x06\x06") + 10,
        "truncated_in_eocd.pth": eocd + 10,
        "truncated_last_byte.pth": len(real) - 1,
    }
    for fname, cut in cuts.items():
        expect(fname, real[:cut], "malformedZip", "end of central directory record")

    # Directory fields pointing outside the file (zip64 record and plain EOCD).
    z64 = real.index(b"PK\x06\x06")
    bad = bytearray(real)
    struct.pack_into("<Q", bad, z64 + 48, len(real) * 4)  # zip64 central directory offset
    expect("zip64_directory_offset_past_eof.pth", bytes(bad), "malformedZip", "central directory")
    bad = bytearray(real)
    struct.pack_into("<Q", bad, eocd - 20 + 8, 1 << 62)  # zip64 locator -> record offset
    expect("zip64_locator_past_eof.pth", bytes(bad), "malformedZip", "ZIP64 end record offset")
    bad = bytearray(real)
    struct.pack_into("<Q", bad, z64 + 32, 1 << 40)  # zip64 total entries
    struct.pack_into("<Q", bad, z64 + 24, 1 << 40)  # zip64 entries on disk
    expect("zip64_entry_count_huge.pth", bytes(bad), "malformedZip", "claims 1099511627776 entries")

    plain = good
    eocd = plain.rindex(b"PK\x05\x06")
    bad = bytearray(plain)
    struct.pack_into("<I", bad, eocd + 16, len(plain) + 1000)
    expect("zip_directory_offset_past_eof.pth", bytes(bad), "malformedZip", "central directory")
    bad = bytearray(plain)
    struct.pack_into("<I", bad, eocd + 16, 0xFFFFFFFF)
    expect("zip_zip64_placeholder_without_locator.pth", bytes(bad), "malformedZip", "no ZIP64 locator")
    cd = plain.index(b"PK\x01\x02")
    bad = bytearray(plain)
    struct.pack_into("<I", bad, cd + 42, len(plain) + 5)  # local header offset of the first entry
    expect("zip_local_header_past_eof.pth", bytes(bad), "malformedZip", "local header")
    bad = bytearray(plain)
    struct.pack_into("<I", bad, cd + 42, 1)  # local header offset into the middle of a header
    expect("zip_local_header_misaligned.pth", bytes(bad), "malformedZip", "no local header")
    # The central directory entry of data/0: its name follows the 46-byte fixed part.
    name_at = plain.index(b"archive/data/0", cd)
    entry = name_at - 46
    bad = bytearray(plain)
    struct.pack_into("<I", bad, entry + 20, 0x7FFFFFF0)  # compressed size
    struct.pack_into("<I", bad, entry + 24, 0x7FFFFFF0)  # uncompressed size
    expect("zip_entry_size_past_eof.pth", bytes(bad), "malformedZip", "runs past the central directory")
    bad = bytearray(plain)
    struct.pack_into("<H", bad, entry + 10, 8)  # method deflate in the directory only
    expect("zip_method_mismatch.pth", bytes(bad), "malformedZip", "disagrees")
    bad = bytearray(plain)
    struct.pack_into("<H", bad, eocd + 4, 1)  # disk number
    expect("zip_multi_disk.pth", bytes(bad), "malformedZip", "multi-disk")
    bad = bytearray(plain)
    struct.pack_into("<H", bad, eocd + 10, 60000)  # total entries
    struct.pack_into("<H", bad, eocd + 8, 60000)
    expect("zip_entry_count_exceeds_directory.pth", bytes(bad), "malformedZip", "claims 60000 entries")

    expect("zip64_extra_too_short.pth",
           zip64_everywhere([("archive/data.pkl", tensor_pickle((2, 3), (3, 1))), ("archive/data/0", SIX_FLOATS)], short_extra=True),
           "malformedZip", "ZIP64 extra field is too short")

    # Whole-file format problems.
    expect("empty.pth", b"", "emptyFile", "empty")
    expect("garbage.bin", b"this is not a checkpoint at all\n", "unrecognizedFormat", "not a torch zip")
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf, _use_new_zipfile_serialization=False)
    expect("legacy_torch_pickle.pth", buf.getvalue(), "legacyTorchFormat", "re-save with torch>=1.6")


# ---------------------------------------------------------------- safetensors

def safetensors_raw(header, data=b"", length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def make_safetensors_corpus():
    f32 = lambda n: struct.pack(f"<{n}f", *range(n))
    expect("st_header_length_past_eof.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32(1), length=5000),
           "malformedSafetensors", "runs past the end of the file")
    expect("st_header_length_over_cap.safetensors", safetensors_raw(b"{}", length=200_000_000),
           "malformedSafetensors", "exceeds the 100000000-byte cap")
    expect("st_header_length_u64_max.safetensors", safetensors_raw(b"{}", length=2**64 - 1),
           "malformedSafetensors", "exceeds")
    expect("st_bad_json.safetensors", safetensors_raw(b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0,'),
           "malformedSafetensors", "not valid JSON")
    expect("st_deep_json.safetensors", safetensors_raw(b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
           "malformedSafetensors", "nested deeper")
    expect("st_overlap.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32(3)),
           "invalidTensor", "overlaps")
    expect("st_hole.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}, f32(5)),
           "invalidTensor", "hole")
    expect("st_hole_at_start.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32(3)),
           "invalidTensor", "hole")
    expect("st_offsets_past_eof.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32(2)),
           "invalidTensor", "run past the end of the data")
    expect("st_end_before_begin.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}, f32(2)),
           "invalidTensor", "before begin")
    expect("st_dtype_size_mismatch.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32(2)),
           "invalidTensor", "needs 12 bytes")
    expect("st_dims_overflow.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [2**42 + 1, 2**22], "data_offsets": [0, 8]}}, f32(2)),
           "invalidTensor", "overflows")
    expect("st_negative_dim.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}}, f32(2)),
           "invalidTensor", "not a non-negative integer")
    expect("st_float_dim.safetensors", safetensors_raw(b'{"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}', f32(2)),
           "invalidTensor", "not a non-negative integer")
    expect("st_bool_offset.safetensors", safetensors_raw(b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [false, 8]}}', f32(2)),
           "invalidTensor", "data_offsets")
    expect("st_duplicate_names.safetensors",
           safetensors_raw(b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                           b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', f32(2)),
           "duplicateTensorName", "'a'")
    expect("st_unknown_dtype.safetensors", safetensors_raw({"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0\0"),
           "unsupportedDType", "F8_E4M3")
    expect("st_trailing_bytes.safetensors", safetensors_raw({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, f32(2)),
           "malformedSafetensors", "not described by the header")
    expect("st_entry_not_object.safetensors", safetensors_raw({"a": 1}), "invalidTensor", "not an object")
    expect("st_metadata_not_object.safetensors", safetensors_raw({"__metadata__": [1]}), "malformedSafetensors", "__metadata__")
    expect("st_missing_dtype.safetensors", safetensors_raw({"a": {"shape": [1], "data_offsets": [0, 4]}}, f32(1)),
           "invalidTensor", "dtype")
    expect("st_too_short.safetensors", b"\x05\0\0\0", "unrecognizedFormat", "not a torch zip")
    names = ["vision_encoder.pos_embed", "vision_encoder.bogus.weight", "mask_decoder.iou_token.weight"]
    header = {n: {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i, n in enumerate(names)}
    expect("hf_unmapped_name.safetensors", safetensors_raw(header, f32(3)), "unmappedNames", "vision_encoder.bogus.weight")


# ---------------------------------------------------------------- valid files

def describe(name, t):
    dtype = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
             torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
             torch.bool: "bool"}[t.dtype]
    # Exact expectations: the float32 bit pattern of each element, in C order.
    bits = t.contiguous().reshape(-1).to(torch.float32).numpy().view(np.uint32).tolist()
    return {"name": name, "dtype": dtype, "shape": list(t.shape), "bits": bits}


def make_valid():
    os.makedirs(VALID, exist_ok=True)
    expected = {}
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["enc.weight"] = torch.randn(2, 3, generator=g)
    sd["enc.half_t"] = torch.randn(3, 2, generator=g).half().t()            # non-contiguous view
    sd["enc.bf16_slice"] = torch.randn(10, generator=g).bfloat16()[2:8]     # storage offset
    sd["enc.f64"] = torch.randn(2, 2, generator=g).double()
    sd["enc.scalar_i64"] = torch.tensor(7)
    sd["enc.i32"] = torch.tensor([-3, 0, 5], dtype=torch.int32)
    sd["enc.i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["enc.i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["enc.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["enc.bool"] = torch.tensor([True, False, True])
    sd["shared.full"] = base                                               # two views of one storage
    sd["shared.strided"] = base[1:, ::2]
    sd["enc.empty"] = torch.zeros(0, 3)
    sd["enc.f16_special"] = torch.tensor([0.0, -0.0, 6.1e-5, 5.96e-8, 65504.0, float("inf"), -float("inf")]).half()
    sd["enc.permuted"] = torch.randn(2, 3, 4, generator=g).permute(2, 0, 1)
    torch.save(sd, os.path.join(VALID, "small.pth"))
    expected["small.pth"] = [describe(k, v) for k, v in sd.items()]

    nested = {"model": collections.OrderedDict((k, sd[k]) for k in ["enc.weight", "enc.f64"]), "epoch": 3}
    torch.save(nested, os.path.join(VALID, "nested.pth"))
    expected["nested.pth"] = [describe(k, nested["model"][k]) for k in nested["model"]]

    dp = collections.OrderedDict((f"module.{k}", sd[k]) for k in ["enc.weight", "enc.i32"])
    torch.save(dp, os.path.join(VALID, "module_prefix.pth"))
    expected["module_prefix.pth"] = [describe(k[len("module."):], v) for k, v in dp.items()]

    params = {"p.weight": torch.nn.Parameter(torch.randn(2, 2, generator=g)), "p.bias": torch.nn.Parameter(torch.zeros(2))}
    torch.save(params, os.path.join(VALID, "parameters.pth"))
    expected["parameters.pth"] = [describe(k, v.detach()) for k, v in params.items()]

    # A torch zip written by Python's zipfile with an unusual prefix and no byteorder entry.
    raw = torch_zip(tensor_pickle((2, 3), (3, 1)), {"0": SIX_FLOATS}, prefix="some_other_name", byteorder=None)
    with open(os.path.join(VALID, "handmade_prefix.pth"), "wb") as f:
        f.write(raw)
    expected["handmade_prefix.pth"] = [describe("w", torch.arange(6, dtype=torch.float32).reshape(2, 3))]

    # Every size and offset through ZIP64 extra fields (what a > 4 GB checkpoint needs).
    raw = zip64_everywhere([("archive/data.pkl", tensor_pickle((2, 3), (3, 1))), ("archive/byteorder", b"little"),
                            ("archive/data/0", SIX_FLOATS)])
    assert zipfile.ZipFile(io.BytesIO(raw)).testzip() is None
    with open(os.path.join(VALID, "zip64_extra_fields.pth"), "wb") as f:
        f.write(raw)
    expected["zip64_extra_fields.pth"] = expected["handmade_prefix.pth"]

    blob = st_torch_save({k: v.contiguous().clone() for k, v in sd.items()}, metadata={"format": "pt"})
    with open(os.path.join(VALID, "small.safetensors"), "wb") as f:
        f.write(blob)
    # safetensors orders data by dtype alignment then name; the reader reports data order.
    header_len = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + header_len])
    order = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])
    expected["small.safetensors"] = [describe(k, sd[k]) for k in order]

    # HF names: every name of a tiny SamModel, one scalar each, plus the tied copy that must be dropped.
    hf_names, official_names = sam_name_sets()
    hf_values = {n: np.array([float(i)], dtype=np.float32) for i, (n, _) in enumerate(hf_names)}
    hf_values["prompt_encoder.shared_embedding.positional_embedding"] = np.array([-1.0], dtype=np.float32)
    with open(os.path.join(VALID, "hf_names.safetensors"), "wb") as f:
        f.write(st_save(hf_values))
    with open(os.path.join(VALID, "sam_names.json"), "w") as f:
        json.dump({"hf": hf_names, "official": official_names}, f, indent=0)

    with open(os.path.join(VALID, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def sam_name_sets():
    """(name, shape) lists of a tiny HF SamModel and a tiny official Sam with the same config."""
    import logging
    logging.disable(logging.WARNING)
    from functools import partial
    from transformers import SamConfig, SamModel, SamVisionConfig
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    vc = SamVisionConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, global_attn_indexes=[1],
                         mlp_dim=64, image_size=64, patch_size=16, output_channels=256, window_size=2)
    hf = SamModel(SamConfig(vision_config=vc))
    hf_names = [[k, list(v.shape)] for k, v in hf.state_dict().items()
                if k != "prompt_encoder.shared_embedding.positional_embedding"]
    official = Sam(
        image_encoder=ImageEncoderViT(depth=2, embed_dim=32, img_size=64, mlp_ratio=2.0,
                                      norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=2, patch_size=16,
                                      qkv_bias=True, use_rel_pos=True, global_attn_indexes=[1], window_size=2, out_chans=256),
        prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(4, 4), input_image_size=(64, 64), mask_in_chans=16),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                                 transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256),
    )
    official_names = [[k, list(v.shape)] for k, v in official.state_dict().items()]
    return hf_names, official_names


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_torch_corpus()
    make_safetensors_corpus()
    make_valid()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"{len(EXPECTED)} malformed files, {total} bytes in {OUT}")
    if total >= 1 << 20:
        sys.exit("corpus exceeds 1 MB")


if __name__ == "__main__":
    main()

/// Path-string helpers with `NSString`'s meaning for the cases the CLI needs,
/// without linking the full Foundation.
public enum PathText {
    /// "a/b/model.samq" -> "model.samq"; trailing slashes are ignored, "/" stays "/".
    public static func lastComponent(_ path: String) -> String {
        if let last = path.split(separator: "/").last { return String(last) }
        return path.hasPrefix("/") ? "/" : ""
    }

    /// "/a/b/c" -> "/a/b", "/a" -> "/", "a" -> "" (trailing slashes ignored).
    public static func deletingLastComponent(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true)
        let absolute = path.hasPrefix("/")
        guard !parts.isEmpty else { return absolute ? "/" : "" }
        parts.removeLast()
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : joined
    }
}

/// A dotted tensor-name pattern: literal components, `#` for one decimal
/// component, and a final `*` for the remaining components (at least one).
/// Rewriting fills the template's `#`s with the captured numbers in order and
/// its `*` with the captured tail.
struct NamePattern {
    let from: [Substring]
    let to: [Substring]

    init(_ from: String, _ to: String) {
        self.from = from.split(separator: ".", omittingEmptySubsequences: false)
        self.to = to.split(separator: ".", omittingEmptySubsequences: false)
    }

    func rewrite(_ name: String) -> String? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        var numbers: [Substring] = []
        var tail: [Substring] = []
        var index = 0
        for component in from {
            if component == "*" {
                guard index < parts.count else { return nil }
                tail = Array(parts[index...])
                index = parts.count
                break
            }
            guard index < parts.count else { return nil }
            let part = parts[index]
            if component == "#" {
                guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                numbers.append(part)
            } else if component != part {
                return nil
            }
            index += 1
        }
        guard index == parts.count else { return nil }
        var output: [Substring] = []
        var nextNumber = 0
        for component in to {
            if component == "#", nextNumber < numbers.count {
                output.append(numbers[nextNumber])
                nextNumber += 1
            } else if component == "*" {
                output.append(contentsOf: tail)
            } else {
                output.append(component)
            }
        }
        return output.joined(separator: ".")
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines
    /// (Foundation's `trimmingCharacters(in:)` is not in FoundationEssentials).
    public func trimmingWhitespace() -> String {
        let isBlank: (Character) -> Bool = { $0.isWhitespace || $0.isNewline }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

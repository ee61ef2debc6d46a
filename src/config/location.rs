//! Turns the parser's byte offsets into the 1-based line and column a person looks for in an editor.

/// Line starts of one text, computed once so that every problem is located in O(log n).
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based (line, column); the column counts characters, not bytes, so that it matches what an
    /// editor shows on lines with non-ASCII text.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(exact) => exact,
            Err(next) => next.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        // An offset inside a multi-byte character cannot come from the parser, but falling back to
        // a byte count is better than a panic.
        let column = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        (line + 1, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::LineIndex;

    #[test]
    fn lines_and_columns_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\n\u{e9}x = 1\r\nlast");
        assert_eq!(index.locate(0), (1, 1));
        assert_eq!(index.locate(1), (1, 2));
        assert_eq!(index.locate(3), (2, 1));
        // 'x' comes after a two-byte character.
        assert_eq!(index.locate(5), (2, 2));
        assert_eq!(index.locate(12), (3, 1));
        // Past the end clamps instead of panicking.
        assert_eq!(index.locate(999), (3, 5));
    }
}

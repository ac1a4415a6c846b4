//! JSON pointer segments (RFC 6901): `~` is written `~0` and `/` is written `~1`.

/// A field name as a segment of a JSON pointer.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The field name a JSON pointer segment stands for.
pub fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        assert_eq!(escape("app.kubernetes.io/name"), "app.kubernetes.io~1name");
        assert_eq!(escape("a~/b"), "a~0~1b");
        assert_eq!(unescape("a~0~1b"), "a~/b");
        assert_eq!(unescape("~01"), "~1");
    }
}

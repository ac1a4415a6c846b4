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
        for (field, segment) in [
            ("app.kubernetes.io/name", "app.kubernetes.io~1name"),
            ("a~/b", "a~0~1b"),
            ("~1", "~01"),
        ] {
            assert_eq!(escape(field), segment);
            assert_eq!(unescape(segment), field);
        }
    }
}

//! Scalars resolved as go-yaml v3 resolves them.

use saphyr_parser::ScalarStyle;
use serde_json::{Number, Value};

/// Resolves a scalar to a JSON value the way go-yaml v3 does for untyped decoding.
/// The value a plain (unquoted, untagged) scalar with this text has, as go-yaml resolves it.
pub fn resolve_plain(text: &str) -> Value {
    resolve_scalar(text, ScalarStyle::Plain, None)
}

pub(super) fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::String(text.to_owned()),
        Some("int") | Some("float") => {
            return resolve_number(text).unwrap_or_else(|| Value::String(text.to_owned()));
        }
        Some("bool") => {
            return match text {
                "true" | "True" | "TRUE" => Value::Bool(true),
                "false" | "False" | "FALSE" => Value::Bool(false),
                _ => Value::String(text.to_owned()),
            };
        }
        Some("null") => return Value::Null,
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => resolve_number(text).unwrap_or_else(|| Value::String(text.to_owned())),
    }
}

pub(super) fn resolve_number(text: &str) -> Option<Value> {
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let radix_int = |digits: &str, radix: u32| -> Option<Value> {
        if digits.is_empty() {
            return None;
        }
        let n = i64::from_str_radix(digits, radix).ok()?;
        Some(Value::Number(Number::from(if neg { -n } else { n })))
    };
    if let Some(hex) = body.strip_prefix("0x") {
        return radix_int(hex, 16);
    }
    if let Some(oct) = body.strip_prefix("0o") {
        return radix_int(oct, 8);
    }
    if let Some(bin) = body.strip_prefix("0b") {
        return radix_int(bin, 2);
    }
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        // Go's base-0 parsing reads a leading zero as octal.
        if body.len() > 1
            && body.starts_with('0')
            && body.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return radix_int(&body[1..], 8);
        }
        if body.len() == 1 || !body.starts_with('0') {
            if let Ok(n) = text.parse::<i64>() {
                return Some(Value::Number(Number::from(n)));
            }
            if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
                return Some(Value::Number(Number::from(n)));
            }
        }
    }
    if is_yaml_float(body) {
        let f: f64 = text.parse().ok()?;
        return Number::from_f64(f).map(Value::Number);
    }
    None
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, without the sign.
pub(super) fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

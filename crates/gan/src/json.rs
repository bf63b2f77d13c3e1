//! A small JSON value type, a parser and a printer.
//!
//! Enough JSON (RFC 8259) for two jobs: the header of a safetensors file
//! (see [`crate::safetensors`]) and the `summary.json` reports the examples
//! write. Written by hand so a reader can see the whole grammar:
//!
//! ```text
//! value  = object | array | string | number | "true" | "false" | "null"
//! object = "{" [ string ":" value { "," string ":" value } ] "}"
//! array  = "[" [ value { "," value } ] "]"
//! string = '"' { char | "\" ( '"' | "\" | "/" | b | f | n | r | t | uXXXX ) } '"'
//! number = [ "-" ] ( "0" | 1-9 { 0-9 } ) [ "." 0-9 { 0-9 } ] [ (e|E) [+|-] 0-9 { 0-9 } ]
//! ```
//!
//! with whitespace (space, tab, newline, carriage return) allowed between
//! tokens. Objects keep their keys in insertion order (a `Vec` of pairs), so a
//! report reads in the order it was built. Numbers are `f64`; JSON has no
//! NaN or infinity, so the printer writes non-finite numbers as `null`.
//!
//! ```
//! use minimax_gan::json::JsonValue;
//!
//! let v = JsonValue::parse(r#"{"steps": 100, "loss": [0.5, 0.25]}"#).unwrap();
//! assert_eq!(v.get("steps").and_then(JsonValue::as_f64), Some(100.0));
//! assert_eq!(v.to_compact(), r#"{"steps":100,"loss":[0.5,0.25]}"#);
//! ```

use std::fmt;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (JSON does not distinguish integers from floats).
    Number(f64),
    /// A string.
    String(String),
    /// `[a, b, ...]`.
    Array(Vec<JsonValue>),
    /// `{"k": v, ...}`, in insertion order. Duplicate keys are kept as given.
    Object(Vec<(String, JsonValue)>),
}

/// A parse error: what was wrong and the byte offset where it was noticed.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonError {
    /// Byte offset into the input.
    pub offset: usize,
    /// What was expected or found.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for JsonError {}

impl JsonValue {
    /// Parses a whole document: one value, optionally surrounded by whitespace.
    pub fn parse(text: &str) -> Result<JsonValue, JsonError> {
        let mut p = Parser { bytes: text.as_bytes(), pos: 0, depth: 0 };
        p.skip_whitespace();
        let value = p.value()?;
        p.skip_whitespace();
        if p.pos != p.bytes.len() {
            return Err(p.error("unexpected text after the value"));
        }
        Ok(value)
    }

    /// The value under `key` if this is an object that has it (first match).
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.as_object()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            JsonValue::Number(x) => Some(*x),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            JsonValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The key/value pairs, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, JsonValue)]> {
        match self {
            JsonValue::Object(o) => Some(o),
            _ => None,
        }
    }

    /// One line, no spaces: `{"a":[1,2]}`.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// Indented by two spaces per level, one element per line, ending in a
    /// newline: the format of `summary.json`.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(2), 0);
        out.push('\n');
        out
    }

    /// Appends this value to `out`; `indent: None` means compact.
    fn write(&self, out: &mut String, indent: Option<usize>, level: usize) {
        match self {
            JsonValue::Null => out.push_str("null"),
            JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonValue::Number(x) => write_number(out, *x),
            JsonValue::String(s) => write_string(out, s),
            JsonValue::Array(items) => {
                write_container(out, indent, level, '[', ']', items, |out, item| {
                    item.write(out, indent, level + 1)
                })
            }
            JsonValue::Object(pairs) => {
                write_container(out, indent, level, '{', '}', pairs, |out, (k, v)| {
                    write_string(out, k);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    v.write(out, indent, level + 1);
                })
            }
        }
    }
}

/// Writes `open item, item, ... close`, one item per line when indenting.
fn write_container<T>(
    out: &mut String,
    indent: Option<usize>,
    level: usize,
    open: char,
    close: char,
    items: &[T],
    mut write_item: impl FnMut(&mut String, &T),
) {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return;
    }
    let newline = |out: &mut String, level: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', width * level));
        }
    };
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, level + 1);
        write_item(out, item);
    }
    newline(out, level);
    out.push(close);
}

/// Integers print without a fraction (`3`, not `3.0`: safetensors readers
/// insist on integer offsets); other numbers use Rust's shortest round-trip
/// form (`0.1`, `1e-7`); NaN and ±inf print as `null`, since JSON cannot
/// express them.
fn write_number(out: &mut String, x: f64) {
    use std::fmt::Write;
    if !x.is_finite() {
        out.push_str("null");
    } else if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        // Below 2^53 every integer is exact in an f64 and fits an i64.
        let _ = write!(out, "{}", x as i64);
    } else {
        // `{:?}` gives `1e-7` and `1e300` where `{}` would spell out zeros.
        let _ = write!(out, "{x:?}");
    }
}

/// Writes `s` quoted, escaping `"`, `\` and control characters.
fn write_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Recursive-descent parser over the input bytes.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Nesting depth, capped so hostile input cannot overflow the stack.
    depth: usize,
}

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 128;

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError { offset: self.pos, message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` or fails saying what was expected.
    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected '{}', found {}", byte as char, self.found())))
        }
    }

    /// The next character, for error messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "end of input".to_string(),
            Some(b) if b.is_ascii_graphic() => format!("'{}'", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        }
    }

    fn value(&mut self) -> Result<JsonValue, JsonError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(JsonValue::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", JsonValue::Bool(true)),
            Some(b'f') => self.literal("false", JsonValue::Bool(false)),
            Some(b'n') => self.literal("null", JsonValue::Null),
            _ => Err(self.error(format!("expected a value, found {}", self.found()))),
        }
    }

    /// Runs `parse` one level deeper, refusing past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<JsonValue, JsonError>,
    ) -> Result<JsonValue, JsonError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn literal(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error(format!("expected '{word}'")))
        }
    }

    fn object(&mut self) -> Result<JsonValue, JsonError> {
        self.expect(b'{')?;
        let mut pairs = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(pairs));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error(format!("expected a string key, found {}", self.found())));
            }
            let key = self.string()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            pairs.push((key, self.value()?));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonValue::Object(pairs));
                }
                _ => {
                    return Err(self.error(format!("expected ',' or '}}', found {}", self.found())))
                }
            }
        }
    }

    fn array(&mut self) -> Result<JsonValue, JsonError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value()?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.error(format!("expected ',' or ']', found {}", self.found()))),
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters up to the next quote or escape.
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // The input is a &str and we stopped at an ASCII byte (or the end),
            // so this slice is whole UTF-8.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).unwrap());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                None => return Err(self.error("unterminated string")),
                Some(_) => return Err(self.error("control character in string (escape it)")),
            }
        }
    }

    /// The character after a backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => return Err(self.error(format!("unknown escape '\\' then {}", self.found()))),
        };
        self.pos += 1;
        Ok(c)
    }

    /// `\uXXXX`, where characters outside the Basic Multilingual Plane come
    /// as a UTF-16 surrogate pair: `\uD83D\uDE00` is one emoji.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.bytes[self.pos..].starts_with(b"\\u") {
                return Err(self.error("high surrogate not followed by \\u low surrogate"));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("invalid low surrogate"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error(format!("invalid code point U+{code:04X}")))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.bytes.get(self.pos..self.pos + 4).unwrap_or(&[]);
        let text = std::str::from_utf8(digits).unwrap_or("");
        if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("expected four hex digits after \\u"));
        }
        self.pos += 4;
        Ok(u32::from_str_radix(text, 16).unwrap())
    }

    fn number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        // Integer part: "0" alone, or a run not starting with 0.
        let leading_zero = self.peek() == Some(b'0');
        let int_digits = digits(self);
        if int_digits == 0 || (leading_zero && int_digits > 1) {
            return Err(self.error("malformed number (integer part)"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("malformed number (no digits after '.')"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("malformed number (no digits in exponent)"));
            }
        }
        // The grammar above is a subset of what Rust's parser accepts.
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap();
        Ok(JsonValue::Number(text.parse().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JsonValue::*;

    fn obj(pairs: &[(&str, JsonValue)]) -> JsonValue {
        Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn parses_every_kind_of_value() {
        let text = r#" { "a": [1, -2.5, 3e2, 0.125E-1], "b": {"c": null, "d": true},
                         "e": false, "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "z": [] } "#;
        let expected = obj(&[
            ("a", Array(vec![Number(1.0), Number(-2.5), Number(300.0), Number(0.0125)])),
            ("b", obj(&[("c", Null), ("d", Bool(true))])),
            ("e", Bool(false)),
            ("s", String("q\"\\/\u{8}\u{c}\n\r\té😀".to_string())),
            ("z", Array(vec![])),
        ]);
        assert_eq!(JsonValue::parse(text).unwrap(), expected);
    }

    #[test]
    fn round_trips_through_both_printers() {
        let v = obj(&[
            ("name", String("tab\there \"quoted\" \u{1}".to_string())),
            ("xs", Array(vec![Number(0.1), Number(-3.0), Number(1e-7), Number(1e300)])),
            ("nested", obj(&[("empty", obj(&[])), ("ok", Bool(true))])),
        ]);
        assert_eq!(JsonValue::parse(&v.to_compact()).unwrap(), v);
        assert_eq!(JsonValue::parse(&v.to_pretty()).unwrap(), v);
    }

    #[test]
    fn pretty_printing_layout() {
        let v = obj(&[("a", Array(vec![Number(1.0), Number(2.5)])), ("b", obj(&[]))]);
        assert_eq!(v.to_pretty(), "{\n  \"a\": [\n    1,\n    2.5\n  ],\n  \"b\": {}\n}\n");
        assert_eq!(v.to_compact(), r#"{"a":[1,2.5],"b":{}}"#);
        assert_eq!(Number(4e15).to_compact(), "4000000000000000");
        assert_eq!(Number(-0.5).to_compact(), "-0.5");
    }

    #[test]
    fn non_finite_numbers_print_as_null() {
        let v = Array(vec![Number(f64::NAN), Number(f64::INFINITY), Number(-f64::INFINITY)]);
        assert_eq!(v.to_compact(), "[null,null,null]");
    }

    #[test]
    fn keeps_insertion_order_and_get_finds_keys() {
        let v = JsonValue::parse(r#"{"z": 1, "a": 2}"#).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a"]);
        assert_eq!(v.get("a").and_then(JsonValue::as_f64), Some(2.0));
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn rejects_malformed_input_with_a_position() {
        let cases = [
            ("", "expected a value"),
            ("{", "expected a string key"),
            ("[1,]", "expected a value"),
            ("[1 2]", "expected ',' or ']'"),
            (r#"{"a" 1}"#, "expected ':'"),
            (r#"{"a": 1,}"#, "expected a string key"),
            ("01", "integer part"),
            ("1.", "after '.'"),
            ("1e", "exponent"),
            ("-", "integer part"),
            ("tru", "expected 'true'"),
            ("\"abc", "unterminated"),
            ("\"a\nb\"", "control character"),
            (r#""\x""#, "unknown escape"),
            (r#""\u12""#, "four hex digits"),
            (r#""\ud800x""#, "low surrogate"),
            ("1 2", "after the value"),
        ];
        for (text, needle) in cases {
            let err = JsonValue::parse(text).unwrap_err();
            assert!(err.to_string().contains(needle), "{text:?}: {err}");
        }
        assert_eq!(JsonValue::parse("[1 2]").unwrap_err().offset, 3);
    }

    #[test]
    fn refuses_absurd_nesting() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(JsonValue::parse(&deep).unwrap_err().message.contains("nested deeper"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(JsonValue::parse(&ok).is_ok());
    }
}

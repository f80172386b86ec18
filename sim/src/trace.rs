//! Reading the trace back: each line is one flat JSON object (numbers, strings, `null`,
//! booleans, and arrays of those), which this small reader turns into fields, so tools
//! such as the sequence diagram work from the same lines a person reads.

use std::collections::BTreeMap;

/// A JSON value of the kinds the trace writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (the trace writes whole numbers).
    Number(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Value>),
}

impl Value {
    /// The value as a whole non-negative number, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(x) if *x >= 0.0 && x.fract() == 0.0 && *x < 1.8e19 => Some(*x as u64),
            _ => None,
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as written in the trace, for display.
    pub fn display(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(x) => x.to_string(),
            Value::Str(s) => s.clone(),
            Value::Array(items) => items.iter().map(Value::display).collect::<Vec<_>>().join(", "),
        }
    }
}

/// One trace line's fields, by name.
pub type Fields = BTreeMap<String, Value>;

/// Why a line is not a trace object, and at which byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the line.
    pub at: usize,
    /// What was expected.
    pub expected: &'static str,
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8, expected: &'static str) -> Result<(), ParseError> {
        self.skip_space();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError { at: self.at, expected }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.eat(b'"', "a string")?;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.at) else {
                return Err(self.error("a closing quote"));
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&escaped) = self.text.get(self.at) else {
                        return Err(self.error("an escape"));
                    };
                    self.at += 1;
                    match escaped {
                        b'"' | b'\\' | b'/' => out.push(escaped),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'u' => {
                            let hex = self
                                .text
                                .get(self.at..self.at + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.error("four hex digits"))?;
                            self.at += 4;
                            let c = char::from_u32(hex).unwrap_or(char::REPLACEMENT_CHARACTER);
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        _ => return Err(self.error("a known escape")),
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("UTF-8"))
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.skip_space();
        match self.text.get(self.at) {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.text.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_space();
                    match self.text.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.error("`,` or `]`")),
                    }
                }
            }
            _ => {
                let start = self.at;
                while self
                    .text
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.at += 1;
                }
                let word = std::str::from_utf8(&self.text[start..self.at]).unwrap_or_default();
                match word {
                    "null" => Ok(Value::Null),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => word
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .map(Value::Number)
                        .ok_or(ParseError {
                            at: start,
                            expected: "a value",
                        }),
                }
            }
        }
    }
}

/// The fields of one trace line.
pub fn parse_line(line: &str) -> Result<Fields, ParseError> {
    let mut cursor = Cursor {
        text: line.as_bytes(),
        at: 0,
    };
    cursor.eat(b'{', "`{`")?;
    let mut fields = Fields::new();
    cursor.skip_space();
    if cursor.text.get(cursor.at) == Some(&b'}') {
        cursor.at += 1;
    } else {
        loop {
            let key = cursor.string()?;
            cursor.eat(b':', "`:`")?;
            let value = cursor.value()?;
            fields.insert(key, value);
            cursor.skip_space();
            match cursor.text.get(cursor.at) {
                Some(b',') => cursor.at += 1,
                Some(b'}') => {
                    cursor.at += 1;
                    break;
                }
                _ => return Err(cursor.error("`,` or `}`")),
            }
        }
    }
    cursor.skip_space();
    if cursor.at != cursor.text.len() {
        return Err(cursor.error("the end of the line"));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_line_reads_back() {
        let fields = parse_line(
            r#"{"t_ms":12,"node":null,"what":"deliver","msgs":["Init","Ping"],"why":"a \"b\"\\c\u0001","ok":true}"#,
        )
        .expect("valid");
        assert_eq!(fields["t_ms"].as_u64(), Some(12));
        assert_eq!(fields["node"], Value::Null);
        assert_eq!(fields["what"].as_str(), Some("deliver"));
        assert_eq!(fields["msgs"].display(), "Init, Ping");
        assert_eq!(fields["why"].as_str(), Some("a \"b\"\\c\u{1}"));
        assert_eq!(fields["ok"], Value::Bool(true));
    }

    #[test]
    fn broken_lines_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":"x}"#,
            r#"{"a":[1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":"\u12"}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}

//! The deserializer's error: serde_json's categories and wording, so that
//! a caller written for `serde_json::Error` reads it the same way.

use super::arrival::Failed;
use serde::de;
use std::fmt::{self, Display};

/// Why a body could not be read as asked. Like serde_json's error: a
/// [`Category`], a message and, for errors found in the text, the line
/// and column (1-based line; column = bytes since the line's start, as
/// serde_json counts). Boxed: `Result<T, Error>` stays one word wide on
/// the hot paths.
pub struct Error(Box<Inner>);

struct Inner {
    code: Code,
    line: usize,
    column: usize,
}

/// serde_json's [`Category`](serde_json::error::Category), with the same
/// meaning: `Io` is a body that did not arrive whole ([`Failed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Io,
    Syntax,
    Data,
    Eof,
}

/// What went wrong; the texts are serde_json's, word for word, plus
/// [`Code::InvalidUtf8`] (serde_json's `from_str` is handed text that is
/// UTF-8 already) and [`Code::Failed`].
pub(crate) enum Code {
    /// A visitor's error (`unknown field`, `invalid type`…).
    Message(Box<str>),
    Failed(Failed),
    EofWhileParsingList,
    EofWhileParsingObject,
    EofWhileParsingString,
    EofWhileParsingValue,
    ExpectedColon,
    ExpectedListCommaOrEnd,
    ExpectedObjectCommaOrEnd,
    ExpectedSomeIdent,
    ExpectedSomeValue,
    ExpectedDoubleQuote,
    InvalidEscape,
    InvalidNumber,
    NumberOutOfRange,
    ControlCharacterWhileParsingString,
    KeyMustBeAString,
    ExpectedNumericKey,
    LoneLeadingSurrogateInHexEscape,
    TrailingComma,
    TrailingCharacters,
    UnexpectedEndOfHexEscape,
    RecursionLimitExceeded,
    /// A byte sequence that is not UTF-8, in a string or anywhere else.
    InvalidUtf8,
}

impl Error {
    pub(crate) fn syntax(code: Code, line: usize, column: usize) -> Error {
        Error(Box::new(Inner { code, line, column }))
    }

    pub(crate) fn failed(failed: Failed) -> Error {
        Error::syntax(Code::Failed(failed), 0, 0)
    }

    /// The category, as serde_json's `classify`.
    pub fn classify(&self) -> Category {
        match self.0.code {
            Code::Message(_) => Category::Data,
            Code::Failed(_) => Category::Io,
            Code::EofWhileParsingList
            | Code::EofWhileParsingObject
            | Code::EofWhileParsingString
            | Code::EofWhileParsingValue => Category::Eof,
            Code::ExpectedColon
            | Code::ExpectedListCommaOrEnd
            | Code::ExpectedObjectCommaOrEnd
            | Code::ExpectedSomeIdent
            | Code::ExpectedSomeValue
            | Code::ExpectedDoubleQuote
            | Code::InvalidEscape
            | Code::InvalidNumber
            | Code::NumberOutOfRange
            | Code::ControlCharacterWhileParsingString
            | Code::KeyMustBeAString
            | Code::ExpectedNumericKey
            | Code::LoneLeadingSurrogateInHexEscape
            | Code::TrailingComma
            | Code::TrailingCharacters
            | Code::UnexpectedEndOfHexEscape
            | Code::RecursionLimitExceeded
            | Code::InvalidUtf8 => Category::Syntax,
        }
    }

    /// 1-based line of the error; 0 when it has no place (a visitor's
    /// error not yet placed, a body that did not arrive).
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// Column of the error: bytes since the start of its line.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// The failure of the body, when the error is that it did not arrive.
    pub fn failure(&self) -> Option<&Failed> {
        match &self.0.code {
            Code::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the error is a byte sequence that is not UTF-8.
    pub fn is_utf8(&self) -> bool {
        matches!(self.0.code, Code::InvalidUtf8)
    }

    /// A visitor's error gets the place where it came out, as serde_json
    /// does (`fix_position`); an error with a place keeps it.
    pub(crate) fn fix_position(self, place: impl FnOnce(Code) -> Error) -> Error {
        if self.0.line == 0 {
            place(self.0.code)
        } else {
            self
        }
    }
}

impl Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Code::Message(m) => m,
            Code::Failed(why) => return write!(f, "the body did not arrive whole: {why}"),
            Code::EofWhileParsingList => "EOF while parsing a list",
            Code::EofWhileParsingObject => "EOF while parsing an object",
            Code::EofWhileParsingString => "EOF while parsing a string",
            Code::EofWhileParsingValue => "EOF while parsing a value",
            Code::ExpectedColon => "expected `:`",
            Code::ExpectedListCommaOrEnd => "expected `,` or `]`",
            Code::ExpectedObjectCommaOrEnd => "expected `,` or `}`",
            Code::ExpectedSomeIdent => "expected ident",
            Code::ExpectedSomeValue => "expected value",
            Code::ExpectedDoubleQuote => "expected `\"`",
            Code::InvalidEscape => "invalid escape",
            Code::InvalidNumber => "invalid number",
            Code::NumberOutOfRange => "number out of range",
            Code::ControlCharacterWhileParsingString => {
                "control character (\\u0000-\\u001F) found while parsing a string"
            }
            Code::KeyMustBeAString => "key must be a string",
            Code::ExpectedNumericKey => "invalid value: expected key to be a number in quotes",
            Code::LoneLeadingSurrogateInHexEscape => "lone leading surrogate in hex escape",
            Code::TrailingComma => "trailing comma",
            Code::TrailingCharacters => "trailing characters",
            Code::UnexpectedEndOfHexEscape => "unexpected end of hex escape",
            Code::RecursionLimitExceeded => "recursion limit exceeded",
            Code::InvalidUtf8 => "invalid UTF-8",
        })
    }
}

impl Display for Error {
    /// `message`, or `message at line L column C`: serde_json's form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.line == 0 {
            Display::fmt(&self.0.code, f)
        } else {
            write!(
                f,
                "{} at line {} column {}",
                self.0.code, self.0.line, self.0.column
            )
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error({:?}, line: {}, column: {})",
            self.0.code.to_string(),
            self.0.line,
            self.0.column
        )
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    #[cold]
    fn custom<T: Display>(msg: T) -> Error {
        make_error(msg.to_string())
    }

    #[cold]
    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Error {
        Error::custom(format_args!(
            "invalid type: {}, expected {}",
            JsonUnexpected(unexp),
            exp,
        ))
    }

    #[cold]
    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Error {
        Error::custom(format_args!(
            "invalid value: {}, expected {}",
            JsonUnexpected(unexp),
            exp,
        ))
    }
}

/// serde's `Unexpected` as serde_json words it: `null` for the unit, a
/// float as serde_json prints numbers.
struct JsonUnexpected<'a>(de::Unexpected<'a>);

impl Display for JsonUnexpected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            de::Unexpected::Unit => f.write_str("null"),
            de::Unexpected::Float(value) => match serde_json::Number::from_f64(value) {
                Some(n) => write!(f, "floating point `{n}`"),
                None => write!(f, "floating point `{value}`"),
            },
            unexp => Display::fmt(&unexp, f),
        }
    }
}

/// A visitor's message; one that ends in ` at line L column C` (an error
/// passed through `custom` again) keeps that place, as in serde_json.
fn make_error(mut msg: String) -> Error {
    let (line, column) = parse_line_col(&mut msg).unwrap_or((0, 0));
    Error::syntax(Code::Message(msg.into_boxed_str()), line, column)
}

fn parse_line_col(msg: &mut String) -> Option<(usize, usize)> {
    let start_of_suffix = msg.rfind(" at line ")?;
    let rest = &msg[start_of_suffix + " at line ".len()..];
    let line_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after_line = rest[line_digits..].strip_prefix(" column ")?;
    let column_digits = after_line.bytes().take_while(u8::is_ascii_digit).count();
    if column_digits < after_line.len() {
        return None;
    }
    let line = rest[..line_digits].parse().ok()?;
    let column = after_line.parse().ok()?;
    msg.truncate(start_of_suffix);
    Some((line, column))
}

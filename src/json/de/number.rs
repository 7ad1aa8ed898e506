//! Numbers, as serde_json reads them: integers as `u64` or `i64` while
//! they fit, else `f64`; `i128`/`u128` when asked for; floats assembled
//! in serde_json's own steps.
//!
//! # Why apart
//!
//! The largest single piece of the deserializer, and the one that must
//! match serde_json bit for bit: the same overflow points (a `u64` that
//! would overflow goes on as a float), the same `f64` for the same digits
//! (its power-of-ten table and the order of its multiplications and
//! divisions — not always the nearest float, and not to be "improved"),
//! the same errors at the same bytes. Kept in one file, it can be read
//! side by side with serde_json's `parse_integer`, `parse_decimal`,
//! `parse_exponent` and `f64_from_parts`. Digits are read byte by byte
//! through the reader, so a number cut by a chunk boundary is read as one.

use super::Deserializer;
use crate::json::error::{Code, Error};
use crate::json::read::Result;
use serde::de::{self, Expected, Unexpected};

impl Deserializer<'_> {
    pub(super) fn deserialize_number<'any, V: de::Visitor<'any>>(
        &mut self,
        visitor: V,
    ) -> Result<V::Value> {
        let peek = match self.parse_whitespace()? {
            Some(b) => b,
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        };
        let value = match peek {
            b'-' => {
                self.eat_char();
                self.parse_integer(false)?.visit(visitor)
            }
            b'0'..=b'9' => self.parse_integer(true)?.visit(visitor),
            _ => Err(self.peek_invalid_type(&visitor)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    pub(super) fn do_deserialize_i128<'any, V: de::Visitor<'any>>(
        &mut self,
        visitor: V,
    ) -> Result<V::Value> {
        let mut buf = String::new();
        match self.parse_whitespace()? {
            Some(b'-') => {
                self.eat_char();
                buf.push('-');
            }
            Some(_) => {}
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        }
        self.scan_integer128(&mut buf)?;
        let value = match buf.parse() {
            Ok(int) => visitor.visit_i128(int),
            Err(_) => return Err(self.error(Code::NumberOutOfRange)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    pub(super) fn do_deserialize_u128<'any, V: de::Visitor<'any>>(
        &mut self,
        visitor: V,
    ) -> Result<V::Value> {
        match self.parse_whitespace()? {
            Some(b'-') => return Err(self.peek_error(Code::NumberOutOfRange)),
            Some(_) => {}
            None => return Err(self.peek_error(Code::EofWhileParsingValue)),
        }
        let mut buf = String::new();
        self.scan_integer128(&mut buf)?;
        let value = match buf.parse() {
            Ok(int) => visitor.visit_u128(int),
            Err(_) => return Err(self.error(Code::NumberOutOfRange)),
        };
        value.map_err(|err| self.fix_position(err))
    }

    fn scan_integer128(&mut self, buf: &mut String) -> Result<()> {
        match self.next_char_or_null()? {
            b'0' => {
                buf.push('0');
                match self.peek_or_null()? {
                    b'0'..=b'9' => Err(self.peek_error(Code::InvalidNumber)),
                    _ => Ok(()),
                }
            }
            c @ b'1'..=b'9' => {
                buf.push(c as char);
                while let c @ b'0'..=b'9' = self.peek_or_null()? {
                    self.eat_char();
                    buf.push(c as char);
                }
                Ok(())
            }
            _ => Err(self.error(Code::InvalidNumber)),
        }
    }

    pub(super) fn parse_integer(&mut self, positive: bool) -> Result<ParserNumber> {
        let next = match self.next_char()? {
            Some(b) => b,
            None => return Err(self.error(Code::EofWhileParsingValue)),
        };
        match next {
            b'0' => match self.peek_or_null()? {
                b'0'..=b'9' => Err(self.peek_error(Code::InvalidNumber)),
                _ => self.parse_number(positive, 0),
            },
            c @ b'1'..=b'9' => {
                let mut significand = u64::from(c - b'0');
                loop {
                    match self.peek_or_null()? {
                        c @ b'0'..=b'9' => {
                            let digit = u64::from(c - b'0');
                            if overflows(significand, digit, u64::MAX) {
                                return Ok(ParserNumber::F64(
                                    self.parse_long_integer(positive, significand)?,
                                ));
                            }
                            self.eat_char();
                            significand = significand * 10 + digit;
                        }
                        _ => return self.parse_number(positive, significand),
                    }
                }
            }
            _ => Err(self.error(Code::InvalidNumber)),
        }
    }

    fn parse_number(&mut self, positive: bool, significand: u64) -> Result<ParserNumber> {
        Ok(match self.peek_or_null()? {
            b'.' => ParserNumber::F64(self.parse_decimal(positive, significand, 0)?),
            b'e' | b'E' => ParserNumber::F64(self.parse_exponent(positive, significand, 0)?),
            _ => {
                if positive {
                    ParserNumber::U64(significand)
                } else {
                    let neg = (significand as i64).wrapping_neg();
                    // A float when it does not fit, and for `-0`.
                    if neg >= 0 {
                        ParserNumber::F64(-(significand as f64))
                    } else {
                        ParserNumber::I64(neg)
                    }
                }
            }
        })
    }

    fn parse_decimal(
        &mut self,
        positive: bool,
        mut significand: u64,
        exponent_before_decimal_point: i32,
    ) -> Result<f64> {
        self.eat_char();
        let mut exponent_after_decimal_point = 0;
        while let c @ b'0'..=b'9' = self.peek_or_null()? {
            let digit = u64::from(c - b'0');
            if overflows(significand, digit, u64::MAX) {
                let exponent = exponent_before_decimal_point + exponent_after_decimal_point;
                return self.parse_decimal_overflow(positive, significand, exponent);
            }
            self.eat_char();
            significand = significand * 10 + digit;
            exponent_after_decimal_point -= 1;
        }
        // At least one digit after the point.
        if exponent_after_decimal_point == 0 {
            return Err(match self.peek()? {
                Some(_) => self.peek_error(Code::InvalidNumber),
                None => self.peek_error(Code::EofWhileParsingValue),
            });
        }
        let exponent = exponent_before_decimal_point + exponent_after_decimal_point;
        match self.peek_or_null()? {
            b'e' | b'E' => self.parse_exponent(positive, significand, exponent),
            _ => self.f64_from_parts(positive, significand, exponent),
        }
    }

    fn parse_exponent(
        &mut self,
        positive: bool,
        significand: u64,
        starting_exp: i32,
    ) -> Result<f64> {
        self.eat_char();
        let positive_exp = match self.peek_or_null()? {
            b'+' => {
                self.eat_char();
                true
            }
            b'-' => {
                self.eat_char();
                false
            }
            _ => true,
        };
        let next = match self.next_char()? {
            Some(b) => b,
            None => return Err(self.error(Code::EofWhileParsingValue)),
        };
        let mut exp = match next {
            c @ b'0'..=b'9' => i32::from(c - b'0'),
            _ => return Err(self.error(Code::InvalidNumber)),
        };
        while let c @ b'0'..=b'9' = self.peek_or_null()? {
            self.eat_char();
            let digit = i32::from(c - b'0');
            if overflows_i32(exp, digit) {
                let zero_significand = significand == 0;
                return self.parse_exponent_overflow(positive, zero_significand, positive_exp);
            }
            exp = exp * 10 + digit;
        }
        let final_exp = if positive_exp {
            starting_exp.saturating_add(exp)
        } else {
            starting_exp.saturating_sub(exp)
        };
        self.f64_from_parts(positive, significand, final_exp)
    }

    /// serde_json's float assembly (without its `float_roundtrip`
    /// feature): the significand scaled by powers of ten, in the same
    /// steps, so the same `f64` comes out — not always the nearest one.
    fn f64_from_parts(
        &mut self,
        positive: bool,
        significand: u64,
        mut exponent: i32,
    ) -> Result<f64> {
        let mut f = significand as f64;
        loop {
            match POW10.get(exponent.wrapping_abs() as usize) {
                Some(&pow) => {
                    if exponent >= 0 {
                        f *= pow;
                        if f.is_infinite() {
                            return Err(self.error(Code::NumberOutOfRange));
                        }
                    } else {
                        f /= pow;
                    }
                    break;
                }
                None => {
                    if f == 0.0 {
                        break;
                    }
                    if exponent >= 0 {
                        return Err(self.error(Code::NumberOutOfRange));
                    }
                    f /= 1e308;
                    exponent += 308;
                }
            }
        }
        Ok(if positive { f } else { -f })
    }

    #[cold]
    #[inline(never)]
    fn parse_long_integer(&mut self, positive: bool, significand: u64) -> Result<f64> {
        let mut exponent = 0;
        loop {
            match self.peek_or_null()? {
                b'0'..=b'9' => {
                    self.eat_char();
                    exponent += 1;
                }
                b'.' => return self.parse_decimal(positive, significand, exponent),
                b'e' | b'E' => return self.parse_exponent(positive, significand, exponent),
                _ => return self.f64_from_parts(positive, significand, exponent),
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn parse_decimal_overflow(
        &mut self,
        positive: bool,
        significand: u64,
        exponent: i32,
    ) -> Result<f64> {
        // Further digits are ignored.
        while let b'0'..=b'9' = self.peek_or_null()? {
            self.eat_char();
        }
        match self.peek_or_null()? {
            b'e' | b'E' => self.parse_exponent(positive, significand, exponent),
            _ => self.f64_from_parts(positive, significand, exponent),
        }
    }

    #[cold]
    #[inline(never)]
    fn parse_exponent_overflow(
        &mut self,
        positive: bool,
        zero_significand: bool,
        positive_exp: bool,
    ) -> Result<f64> {
        if !zero_significand && positive_exp {
            return Err(self.error(Code::NumberOutOfRange));
        }
        while let b'0'..=b'9' = self.peek_or_null()? {
            self.eat_char();
        }
        Ok(if positive { 0.0 } else { -0.0 })
    }
}

/// Whether `a * 10 + b` would pass `max` (serde_json's `overflow!`).
#[inline(always)]
fn overflows(a: u64, b: u64, max: u64) -> bool {
    a >= max / 10 && (a > max / 10 || b > max % 10)
}

#[inline(always)]
fn overflows_i32(a: i32, b: i32) -> bool {
    let max = i32::MAX;
    a >= max / 10 && (a > max / 10 || b > max % 10)
}

pub(super) enum ParserNumber {
    F64(f64),
    U64(u64),
    I64(i64),
}

impl ParserNumber {
    pub(super) fn visit<'de, V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            ParserNumber::F64(x) => visitor.visit_f64(x),
            ParserNumber::U64(x) => visitor.visit_u64(x),
            ParserNumber::I64(x) => visitor.visit_i64(x),
        }
    }

    pub(super) fn invalid_type(self, exp: &dyn Expected) -> Error {
        match self {
            ParserNumber::F64(x) => de::Error::invalid_type(Unexpected::Float(x), exp),
            ParserNumber::U64(x) => de::Error::invalid_type(Unexpected::Unsigned(x), exp),
            ParserNumber::I64(x) => de::Error::invalid_type(Unexpected::Signed(x), exp),
        }
    }
}

/// `1e0` … `1e308`, each written as a literal (the `f64` nearest the
/// power itself), as serde_json's table: a product of tens would round
/// differently.
static POW10: [f64; 309] = pow10::TABLE;

mod pow10 {
    macro_rules! table {
        ($($e:literal)*) => {
            pub(super) const TABLE: [f64; 309] = [$($e),*];
        };
    }
    table! {
        1e0 1e1 1e2 1e3 1e4 1e5 1e6 1e7 1e8 1e9
        1e10 1e11 1e12 1e13 1e14 1e15 1e16 1e17 1e18 1e19
        1e20 1e21 1e22 1e23 1e24 1e25 1e26 1e27 1e28 1e29
        1e30 1e31 1e32 1e33 1e34 1e35 1e36 1e37 1e38 1e39
        1e40 1e41 1e42 1e43 1e44 1e45 1e46 1e47 1e48 1e49
        1e50 1e51 1e52 1e53 1e54 1e55 1e56 1e57 1e58 1e59
        1e60 1e61 1e62 1e63 1e64 1e65 1e66 1e67 1e68 1e69
        1e70 1e71 1e72 1e73 1e74 1e75 1e76 1e77 1e78 1e79
        1e80 1e81 1e82 1e83 1e84 1e85 1e86 1e87 1e88 1e89
        1e90 1e91 1e92 1e93 1e94 1e95 1e96 1e97 1e98 1e99
        1e100 1e101 1e102 1e103 1e104 1e105 1e106 1e107 1e108 1e109
        1e110 1e111 1e112 1e113 1e114 1e115 1e116 1e117 1e118 1e119
        1e120 1e121 1e122 1e123 1e124 1e125 1e126 1e127 1e128 1e129
        1e130 1e131 1e132 1e133 1e134 1e135 1e136 1e137 1e138 1e139
        1e140 1e141 1e142 1e143 1e144 1e145 1e146 1e147 1e148 1e149
        1e150 1e151 1e152 1e153 1e154 1e155 1e156 1e157 1e158 1e159
        1e160 1e161 1e162 1e163 1e164 1e165 1e166 1e167 1e168 1e169
        1e170 1e171 1e172 1e173 1e174 1e175 1e176 1e177 1e178 1e179
        1e180 1e181 1e182 1e183 1e184 1e185 1e186 1e187 1e188 1e189
        1e190 1e191 1e192 1e193 1e194 1e195 1e196 1e197 1e198 1e199
        1e200 1e201 1e202 1e203 1e204 1e205 1e206 1e207 1e208 1e209
        1e210 1e211 1e212 1e213 1e214 1e215 1e216 1e217 1e218 1e219
        1e220 1e221 1e222 1e223 1e224 1e225 1e226 1e227 1e228 1e229
        1e230 1e231 1e232 1e233 1e234 1e235 1e236 1e237 1e238 1e239
        1e240 1e241 1e242 1e243 1e244 1e245 1e246 1e247 1e248 1e249
        1e250 1e251 1e252 1e253 1e254 1e255 1e256 1e257 1e258 1e259
        1e260 1e261 1e262 1e263 1e264 1e265 1e266 1e267 1e268 1e269
        1e270 1e271 1e272 1e273 1e274 1e275 1e276 1e277 1e278 1e279
        1e280 1e281 1e282 1e283 1e284 1e285 1e286 1e287 1e288 1e289
        1e290 1e291 1e292 1e293 1e294 1e295 1e296 1e297 1e298 1e299
        1e300 1e301 1e302 1e303 1e304 1e305 1e306 1e307 1e308
    }
}

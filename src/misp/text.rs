//! How the rules compare names (tags, types, categories, object names,
//! sharing-group UUIDs): the way MISP's database would find them equal.
//!
//! MISP trims the strings it stores and looks tags and sharing groups up in
//! MySQL, whose `utf8mb4_unicode_ci` collation compares at the primary
//! level: case, accents and compatibility forms are ignored (`ＴＬＰ:ｒéd`
//! finds `tlp:red`), and default-ignorable characters such as U+200B ZERO
//! WIDTH SPACE count for nothing. A guard comparing bytes would let those
//! look-alikes through; [`normalise`] maps a name to a skeleton on which
//! they collide. ASCII names, nearly all of them, take a fast path.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The characters PHP's `trim()` removes; MISP trims the strings it stores.
pub const PHP_TRIM: &[char] = &[' ', '\t', '\n', '\r', '\0', '\x0B'];

/// A name as the rules compare it: trimmed, lower-cased, and for non-ASCII
/// text reduced to its collation skeleton (compatibility-decomposed, marks
/// and default-ignorable characters dropped, white space trimmed).
pub fn normalise(s: &str) -> Cow<'_, str> {
    let t = s.trim_matches(PHP_TRIM);
    if t.is_ascii() {
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(t.to_ascii_lowercase())
        } else {
            Cow::Borrowed(t)
        }
    } else {
        let skeleton: String = t
            .nfkd()
            .filter(|c| !is_combining_mark(*c) && !is_default_ignorable(*c))
            .flat_map(char::to_lowercase)
            .collect();
        Cow::Owned(skeleton.trim().to_string())
    }
}

/// Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties):
/// characters a collation gives no weight.
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0
        | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_collide_with_the_plain_name() {
        for variant in [
            "tlp:red",
            "TLP:RED",
            " tlp:red\t",
            "ｔｌｐ:ｒｅｄ",
            "ＴＬＰ：ＲＥＤ",
            "tlp:réd",
            "tlp:re\u{0301}d",
            "tlp:r\u{200B}ed",
            "tlp:red\u{00A0}",
            "\u{FEFF}tlp:red",
            "tlp:r\u{00AD}ed",
        ] {
            assert_eq!(normalise(variant), "tlp:red", "{variant:?}");
        }
        assert_ne!(normalise("tlp:rod"), "tlp:red");
        assert_ne!(normalise("tlp:red-team"), "tlp:red");
        assert!(matches!(normalise("tlp:red"), Cow::Borrowed(_)));
    }
}

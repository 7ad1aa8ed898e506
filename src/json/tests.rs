//! The deserializer against serde_json, on tricky documents cut into
//! chunks at every place; and the waits.

use super::*;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use std::time::Duration;

/// Documents that exercise each token and each error, with tokens that
/// would straddle a boundary wherever one is cut.
fn documents() -> Vec<Vec<u8>> {
    let mut docs: Vec<Vec<u8>> = [
        // Whitespace, structure.
        " \t\n\r[ 1 , 2 ,\n{ \"a\" : [ ] , \"b\" : { } } ] \n",
        "{}",
        "[]",
        "",
        "   ",
        "[1,]",
        "{\"a\":1,}",
        "{1:2}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "[1 2]",
        "{\"a\":1,\"a\":2}",
        "{} x",
        "[1] ]",
        "1 2",
        "[",
        "{\"a\":",
        "{\"a\"",
        "[1,",
        // Literals.
        "[true,false,null]",
        "tru",
        "nul",
        "nulll",
        "[nulx]",
        "falsey",
        // Numbers.
        "[0,-0,1,-1,0.5,-0.5,1e2,1E+2,1e-2,-1.25e-7]",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "1.7976931348623157e308",
        "1e309",
        "-1e309",
        "2.2250738585072014e-308",
        "4.9e-324",
        "1e-400",
        "0e999999999999",
        "1e99999999999999",
        "1e-99999999999999",
        "0.1234567890123456789012345678901234567890e10",
        "123456789012345678901234.5e-3",
        "3.141592653589793238462643383279",
        "-",
        "01",
        "-01",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1.e3",
        "[1.5x]",
        "[-x]",
        // Strings and escapes.
        "\"\"",
        "\"abcdefghijklmnopqrstuvwxyz0123456789\"",
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
        "\"\\u0041\\u00e9\\u20ac\"",
        "\"\\ud83d\\ude00\"",
        "\"x\\uD83D\\uDE00y\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83dx\"",
        "\"\\ud83d\\n\"",
        "\"\\ud83d\\ud83d\"",
        "\"\\ud83d\\u0041\"",
        "\"\\uZZZZ\"",
        "\"\\u12\"",
        "\"\\u12",
        "\"\\x\"",
        "\"a\u{1}b\"",
        "\"tab\tin\"",
        "\"é€😀 mixed ascii and ünïcödé\"",
        "\"abc",
        "\"abc\\",
        // Keys with escapes and non-ASCII.
        "{\"k\\u0065y\":1,\"ключ\":\"значение\",\"\":null}",
        // Skipped values that serde_json only checks loosely.
        "{\"skip\":\"\\ud800\"}",
        "{\"skip\":[\"\\udc00\", {\"x\": [1, 2.5e3, true]}]}",
        // Raw-value shaped.
        "{\"related_object\": {\"Event\": {\"uuid\": \"a\", \"id\": \"1\"}}, \"t\": \"Event\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Nesting at and past the limit, read and skipped.
    for depth in [126, 127, 128, 300] {
        let mut d = "[".repeat(depth).into_bytes();
        d.extend("]".repeat(depth).bytes());
        docs.push(d.clone());
        let mut wrapped = b"{\"skip\":".to_vec();
        wrapped.extend(d);
        wrapped.push(b'}');
        docs.push(wrapped);
    }
    // Not UTF-8, in strings read, in strings skipped, and outside strings.
    for bad in [
        &b"\"\xff\""[..],
        b"[\"\xc3\"]",
        b"[\"\xe2\x82\"]",
        b"[\"\xe2\x82",
        b"[\xff]",
        b"\"\xc0\x80\"",
        b"\"\xed\xa0\x80\"",
        b"\"\xf4\x90\x80\x80\"",
        b"{\"skip\":\"ok \xf0\x9f\x98\"}",
        b"{\"skip\":\"\xf0\x9f\x98\x80 ok\"} \xff",
        b"{\"a\":1} \xe2\x82\xac",
    ] {
        docs.push(bad.to_vec());
    }
    docs
}

/// What serde_json says of `doc` as the judge read it before: UTF-8
/// first, then `from_str`, `end` included.
fn reference<T: for<'a> Deserialize<'a>>(doc: &[u8]) -> Option<Result<T, String>> {
    let text = std::str::from_utf8(doc).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    Some(
        T::deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| e.to_string()),
    )
}

fn ours<T: for<'a> Deserialize<'a>>(arrival: &Arrival) -> Result<T, Error> {
    from_arrival(arrival)
}

/// Every way of cutting `doc` this test tries: whole; in two at every
/// place; byte by byte; byte by byte with empty chunks between; in three
/// at every pair of places for short documents.
fn cuts(doc: &[u8]) -> Vec<Vec<Bytes>> {
    let piece = |a: usize, b: usize| Bytes::copy_from_slice(&doc[a..b]);
    let mut out = vec![vec![piece(0, doc.len())]];
    for i in 0..=doc.len() {
        out.push(vec![piece(0, i), piece(i, doc.len())]);
    }
    out.push((0..doc.len()).map(|i| piece(i, i + 1)).collect());
    out.push(
        (0..doc.len())
            .flat_map(|i| [Bytes::new(), piece(i, i + 1)])
            .chain([Bytes::new()])
            .collect(),
    );
    if doc.len() <= 48 {
        for i in 0..=doc.len() {
            for j in i..=doc.len() {
                out.push(vec![piece(0, i), piece(i, j), piece(j, doc.len())]);
            }
        }
    }
    out
}

fn check_agrees<T: for<'a> Deserialize<'a> + PartialEq + std::fmt::Debug>(what: &str) {
    for doc in documents() {
        let want = reference::<T>(&doc);
        for chunks in cuts(&doc) {
            let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
            let arrival = Arrival::from_chunks(chunks);
            let got = ours::<T>(&arrival);
            let shown = String::from_utf8_lossy(&doc);
            match &want {
                // Not UTF-8: refused, whatever the cut.
                None => assert!(got.is_err(), "{what} {shown:?} {sizes:?}: accepted"),
                Some(Ok(v)) => match got {
                    Ok(g) => assert_eq!(&g, v, "{what} {shown:?} {sizes:?}"),
                    Err(e) => panic!("{what} {shown:?} {sizes:?}: refused: {e}"),
                },
                Some(Err(m)) => match got {
                    Ok(g) => panic!("{what} {shown:?} {sizes:?}: accepted as {g:?}, not {m}"),
                    Err(e) => assert_eq!(&e.to_string(), m, "{what} {shown:?} {sizes:?}"),
                },
            }
        }
    }
}

#[test]
fn values_agree_with_serde_json_at_every_cut() {
    check_agrees::<Value>("Value");
}

#[test]
fn skipping_agrees_with_serde_json_at_every_cut() {
    check_agrees::<IgnoredAnyEq>("IgnoredAny");
}

/// A raw value, by its text.
#[derive(Debug, PartialEq)]
struct RawText(String);

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<serde_json::value::RawValue>::deserialize(d).map(|r| RawText(r.get().to_string()))
    }
}

/// A raw value's text is the one serde_json gives, wherever the cuts
/// fall (the end of the body too).
#[test]
fn raw_values_agree_with_serde_json_at_every_cut() {
    check_agrees::<RawText>("RawValue");
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed {
    #[serde(default)]
    a: Option<u8>,
    #[serde(default)]
    s: Option<String>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    f: Option<f64>,
    #[serde(default)]
    skip: IgnoredAnyEq,
}

#[derive(Debug, Default, PartialEq)]
struct IgnoredAnyEq;

impl<'de> Deserialize<'de> for IgnoredAnyEq {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| IgnoredAnyEq)
    }
}

/// Typed reading: data errors (unknown and duplicate fields, invalid
/// types) in serde_json's words and places.
#[test]
fn typed_reading_agrees_with_serde_json_at_every_cut() {
    for doc in [
        "{\"a\":1,\"s\":\"x\",\"n\":-5,\"f\":1.5,\"skip\":[{\"deep\":\"\\ud800\"}]}",
        "{\"a\":256}",
        "{\"a\":\"1\"}",
        "{\"a\":-1}",
        "{\"a\":1.0}",
        "{\"s\":1}",
        "{\"s\":\"secret value\\n\"}",
        "{\"s\":\"secret\",\"s\":\"again\"}",
        "{\"other\":1}",
        "{\"oth\\u0065r\":1}",
        "{\"a\":null,\"f\":1e400}",
        "{\"n\":9223372036854775808}",
        "{\"f\":true}",
        "[1,\"x\",2,3.5,null]",
        "[1]",
        "{\"a\":1} ",
        "{\"a\":1}x",
        "{\"skip\":{\"a\":[1,2,{\"b\":null}]},\"a\":3}",
    ] {
        let doc = doc.as_bytes();
        let want = reference::<Typed>(doc).expect("UTF-8");
        for chunks in cuts(doc) {
            let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
            let got = ours::<Typed>(&Arrival::from_chunks(chunks)).map_err(|e| e.to_string());
            assert_eq!(got, want, "{:?} {sizes:?}", String::from_utf8_lossy(doc));
        }
    }
}

/// Which strings a visitor got borrowed.
#[derive(Default)]
struct Seen {
    borrowed: Vec<String>,
    transient: Vec<String>,
}

struct Strings<'a>(&'a mut Seen);

impl<'de> serde::de::Visitor<'de> for Strings<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(One(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct One<'a>(&'a mut Seen);

impl<'de> serde::de::DeserializeSeed<'de> for One<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for One<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.0.borrowed.push(v.to_string());
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.transient.push(v.to_string());
        Ok(())
    }
}

/// A string in one chunk without escapes is borrowed; one cut by a
/// boundary, or with an escape, is handed over transient — with the same
/// text.
#[test]
fn strings_are_borrowed_when_they_lie_in_one_chunk() {
    let read = |chunks: Vec<&'static [u8]>| {
        let arrival = Arrival::from_chunks(chunks.into_iter().map(Bytes::from_static));
        let mut seen = Seen::default();
        serde::Deserializer::deserialize_seq(&mut Deserializer::new(&arrival), Strings(&mut seen))
            .expect("an array of strings");
        (seen.borrowed, seen.transient)
    };
    let (b, t) = read(vec![b"[\"ab\", \"c\\nd\", \"\xc3\xa9\"]"]);
    assert_eq!(b, ["ab", "é"]);
    assert_eq!(t, ["c\nd"]);
    let (b, t) = read(vec![b"[\"a", b"b\", \"", b"cd\", \"\xc3", b"\xa9\"]"]);
    assert_eq!(b, ["cd"], "begins right at a chunk: still borrowed");
    assert_eq!(t, ["ab", "é"]);
}

/// serde_json's raw values read through the same protocol: the same text,
/// borrowed in one chunk, owned across chunks (a `&RawValue` then cannot
/// be had; a `Box<RawValue>` can).
#[test]
fn raw_values_are_the_text_serde_json_gives() {
    use serde_json::value::RawValue;
    let doc = b"{\"a\": [1, {\"b\": \"\\u00e9\"}] , \"c\":  true }";
    let want: std::collections::BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(doc).unwrap();
    for chunks in cuts(doc) {
        let arrival = Arrival::from_chunks(chunks);
        let got: std::collections::BTreeMap<String, Box<RawValue>> =
            from_arrival(&arrival).unwrap();
        assert_eq!(
            got.iter().map(|(k, v)| (k, v.get())).collect::<Vec<_>>(),
            want.iter().map(|(k, v)| (k, v.get())).collect::<Vec<_>>()
        );
    }
    let whole = Arrival::whole(&doc[..]);
    let borrowed: std::collections::BTreeMap<&str, &RawValue> = from_arrival(&whole).unwrap();
    assert_eq!(borrowed["a"].get(), "[1, {\"b\": \"\\u00e9\"}]");
}

/// UTF-8 of a whole body, across chunks, as `str::from_utf8` says.
#[test]
fn utf8_of_the_whole_body_matches_the_standard_library() {
    for doc in documents() {
        let want = std::str::from_utf8(&doc)
            .map(|_| ())
            .map_err(|e| e.valid_up_to());
        for chunks in cuts(&doc) {
            let arrival = Arrival::from_chunks(chunks);
            assert_eq!(arrival.check_utf8().unwrap(), want, "{doc:?}");
        }
    }
}

/// A reader started before the first byte waits, and has its value when
/// the last chunk is in.
#[test]
fn a_reader_started_before_the_body_gets_it_as_it_arrives() {
    let doc = br#"{"Event":{"uuid":"x","Attribute":[{"value":"abcdef"},{"value":"ghij"}]}}"#;
    let (arrival, producer) = Arrival::channel();
    let reader = std::thread::spawn(move || from_arrival::<Value>(&arrival).map(|v| v.to_string()));
    for piece in doc.chunks(7) {
        std::thread::sleep(Duration::from_millis(2));
        assert!(!reader.is_finished(), "nothing before the end");
        producer.push(Bytes::copy_from_slice(piece));
    }
    std::thread::sleep(Duration::from_millis(20));
    assert!(!reader.is_finished(), "the end is not yet known");
    producer.finish();
    let got = reader.join().unwrap().unwrap();
    assert_eq!(
        got,
        serde_json::from_slice::<Value>(doc).unwrap().to_string()
    );
}

/// A producer that fails, or goes away without finishing, unblocks the
/// reader with an `Io` error.
#[test]
fn a_failed_body_unblocks_the_reader() {
    let (arrival, producer) = Arrival::channel();
    let waiting = arrival.clone();
    let reader = std::thread::spawn(move || from_arrival::<Value>(&waiting).unwrap_err());
    producer.push(Bytes::from_static(b"[1, 2, "));
    std::thread::sleep(Duration::from_millis(20));
    producer.fail("too slow");
    let e = reader.join().unwrap();
    assert_eq!(e.classify(), Category::Io);
    assert!(e.to_string().contains("too slow"), "{e}");
    assert_eq!(arrival.len(), 7, "what arrived stays");

    let (arrival, producer) = Arrival::channel();
    let reader = std::thread::spawn(move || from_arrival::<Value>(&arrival).unwrap_err());
    std::thread::sleep(Duration::from_millis(20));
    drop(producer);
    assert_eq!(reader.join().unwrap().classify(), Category::Io);
}

/// The chunks stay as they were pushed, for forwarding.
#[test]
fn the_chunks_are_the_ones_pushed() {
    let pieces = [
        Bytes::from_static(b"[1,"),
        Bytes::new(),
        Bytes::from_static(b"2]"),
    ];
    let arrival = Arrival::from_chunks(pieces.clone());
    let _: Value = from_arrival(&arrival).unwrap();
    let seen: Vec<&Bytes> = arrival.chunks().collect();
    assert_eq!(seen.len(), 3);
    for (a, b) in seen.iter().zip(&pieces) {
        assert_eq!(a.as_ptr(), b.as_ptr(), "the same memory, not a copy");
    }
    assert_eq!(arrival.into_chunks().collect::<Vec<_>>(), pieces);
}

/// The io reader sees every byte once, across empty chunks.
#[test]
fn the_io_reader_reads_the_body() {
    use std::io::Read;
    let arrival = Arrival::from_chunks([
        Bytes::from_static(b"ab"),
        Bytes::new(),
        Bytes::from_static(b"cde"),
    ]);
    let mut out = String::new();
    arrival.reader().read_to_string(&mut out).unwrap();
    assert_eq!(out, "abcde");
}

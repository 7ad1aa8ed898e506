//! Reading what came back: the statuses `raw_client.py` parsed, MISP's
//! JSON error, whether an answer is the refusal a case expects, and the
//! marker search over what the remotes received.

use super::*;
use corpus::{Case, Expect};

/// The statuses of every response `raw_client.py` parsed, in order.
pub fn statuses(r: &Value) -> Vec<u64> {
    r["responses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| x["status"].as_u64().unwrap_or(0))
        .collect()
}

/// Whether `body` is MISP's JSON error for a refusal: `{"name":
/// "Forbidden", "message": non-empty, "url"}`.
pub fn misp_error(body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the 403's body is not JSON ({e}): {:?}", lossy(body)))?;
    let message = v["message"].as_str().unwrap_or_default();
    if v["name"] != "Forbidden" || message.is_empty() || !v["url"].is_string() {
        return Err(format!("the 403's body is not MISP's JSON error: {v}"));
    }
    Ok(())
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether what the client got back (`raw_client.py`'s report) is exactly
/// the refusal, or the answer, `c` expects.
pub fn judge(c: &Case, r: &Value) -> Result<(), String> {
    let responses = r["responses"].as_array().cloned().unwrap_or_default();
    let trailing = lab::base64_decode(r["trailing_b64"].as_str().unwrap_or_default());
    if !trailing.is_empty() {
        return Err(format!(
            "bytes after the last response that are no response: {:?}",
            lossy(&trailing)
        ));
    }
    if let Some(cut) = responses.iter().find(|x| x["complete"] != true) {
        return Err(format!("a response cut short: {cut}"));
    }
    // The refusal is the end of the exchange: every case asks for `close`.
    let end = r["end"].as_str().unwrap_or_default();
    if !matches!(end, "closed" | "reset" | "send") {
        return Err(format!(
            "the connection did not end after the answer ({end})"
        ));
    }
    let (interim, finals): (Vec<&Value>, Vec<&Value>) = responses
        .iter()
        .partition(|x| x["status"].as_u64().unwrap_or(0) < 200);
    let asked = contains(&c.bytes.to_ascii_lowercase(), b"\r\nexpect: 100-continue");
    let interim_ok = interim.is_empty()
        || (asked
            && interim.len() == 1
            && interim[0]["status"] == 100
            && responses[0]["status"] == 100);
    if !interim_ok {
        return Err("an interim response that was not asked for".into());
    }
    let finals: Vec<(u64, &Value)> = finals
        .into_iter()
        .map(|x| (x["status"].as_u64().unwrap_or(0), x))
        .collect();
    let want: Vec<u64> = match c.expect {
        Expect::Forbidden => vec![403],
        Expect::Ambiguous => vec![400],
        Expect::Unparsable(status) => vec![u64::from(status)],
        Expect::Statuses(want) => want.iter().map(|&s| u64::from(s)).collect(),
    };
    let got: Vec<u64> = finals.iter().map(|(s, _)| *s).collect();
    if got != want {
        return Err(if got.is_empty() {
            "no answer at all".to_string()
        } else {
            format!("final statuses {got:?}, not {want:?}")
        });
    }
    for (i, (status, x)) in finals.iter().enumerate() {
        let body = lab::base64_decode(x["body_b64"].as_str().unwrap_or_default());
        let header = |name: &str| {
            x["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                .and_then(|h| h[1].as_str())
                .map(str::to_string)
        };
        match (c.expect, status) {
            (Expect::Unparsable(_), _) if !body.is_empty() => {
                return Err(format!(
                    "the parser's refusal has a body: {:?}",
                    lossy(&body)
                ));
            }
            (Expect::Ambiguous, 400) => {
                if header("content-type").as_deref() != Some("application/json") {
                    return Err(format!("a 400 that is not JSON: {x}"));
                }
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| format!("the 400's body is not JSON ({e})"))?;
                if v["name"] != "Bad Request" || !v["message"].is_string() {
                    return Err(format!("the 400's body is not MISP's JSON error: {v}"));
                }
            }
            (_, 403) => {
                if header("content-type").as_deref() != Some("application/json") {
                    return Err(format!("a 403 that is not JSON: {x}"));
                }
                // The only response to a HEAD is the first one, bodiless.
                if i == 0 && c.bytes.starts_with(b"HEAD ") {
                    if !body.is_empty() {
                        return Err("a body in the answer to HEAD".into());
                    }
                } else {
                    misp_error(&body)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `scripts/lab/find_markers.py` over every byte and every record of
/// `remotes`: its report, `{"connections", "bytes", "records", "found"}`.
pub fn find_markers(lab: &Lab, remotes: &[usize]) -> Value {
    let python = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    let script = format!("{}/scripts/lab/find_markers.py", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run scripts/test.sh once (it creates .venv with brotli and zstandard)"
    );
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["300", &python, &script]);
    for &r in remotes {
        cmd.arg("--capture").arg(lab.capture_dir(r));
        cmd.arg("--record").arg(lab.record_file(r));
    }
    let out = cmd.output().expect("run find_markers.py");
    assert!(
        out.status.success(),
        "find_markers.py failed: {}",
        lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("find_markers.py: {e}: {}", lossy(&out.stderr)))
}

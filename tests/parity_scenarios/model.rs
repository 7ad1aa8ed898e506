//! The scenario model: payloads, expectations (and misp-guard's wording
//! where only the wording differs), twins and their edits, scenarios and
//! the pull and push builders.

use super::*;

#[derive(Clone, Debug)]
pub enum Payload {
    /// A file of `tests/fixtures/parity`.
    Fixture(&'static str),
    /// A file of `tests/fixtures`, by its path there
    /// (`closed_world/pushed_event.json`).
    File(&'static str),
    Bytes(Vec<u8>),
}

/// `tests/fixtures`.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

impl Payload {
    /// The file behind a payload that is one.
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            Payload::Fixture(f) => Some(fixture_dir().join(f)),
            Payload::File(f) => Some(fixtures_root().join(f)),
            Payload::Bytes(_) => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub enum Expect {
    #[default]
    Allow,
    /// Exit 3; the reason contains every one of these.
    Block(Vec<&'static str>),
}

pub fn block(reason: &'static str) -> Expect {
    Expect::Block(vec![reason])
}

/// misp-guard's reason text → ours, where only the wording differs. The
/// verdict (block) is the same in each case.
pub const WORDING_GAPS: &[(&str, &str)] = &[(
    "destination host lists.zone-x.test does not exist in instances hosts mapping",
    "lists.zone-x.test:443: only the exact URLs of allowlist.urls may be fetched on this host",
)];

/// Whether our `reason` for a block says what misp-guard's does: it
/// contains every text of `wanted`, or ours for it in [`WORDING_GAPS`].
/// `Ok(Some(note))` when it does only through a wording gap.
pub fn reason_matches(wanted: &[&str], reason: &str) -> Result<Option<String>, String> {
    let mut notes = Vec::new();
    for want in wanted {
        if reason.contains(want) {
            continue;
        }
        let gap = WORDING_GAPS
            .iter()
            .find(|(mg, ours)| want.contains(mg) && reason.contains(&*want.replace(mg, ours)));
        match gap {
            Some((mg, ours)) => notes.push(format!("misp-guard says {mg:?}, we say {ours:?}")),
            None => return Err(format!("reason {reason:?} does not contain {want:?}")),
        }
    }
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

/// A change to a JSON payload, by JSON pointer.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Sets (or adds) the value at the pointer.
    Set(String, Value),
    /// Sets a distribution level, keeping the JSON type the fixture used
    /// (`"0"` stays a string, `0` a number).
    Level(String, u8),
}

pub fn set(ptr: &str, v: Value) -> Edit {
    Edit::Set(ptr.to_string(), v)
}

pub fn level(ptr: &str, l: u8) -> Edit {
    Edit::Level(ptr.to_string(), l)
}

/// The same exchange with something changed.
#[derive(Clone, Debug, Default)]
pub struct Twin {
    pub what: &'static str,
    pub edits: Vec<Edit>,
    pub from: Option<&'static str>,
    pub to: Option<&'static str>,
    pub path: Option<&'static str>,
    pub response: Option<Payload>,
    pub response_headers: Option<Vec<String>>,
    /// Another request body (the edits then apply to it).
    pub body: Option<Payload>,
    /// Events the guard remembers letting through, besides the scenario's.
    pub seen: Vec<&'static str>,
    pub response_status: Option<u16>,
    pub expect: Expect,
    /// misp-guard's verdict on the twin, where it differs from `expect`.
    pub misp_guard: Option<Expect>,
}

pub fn twin(what: &'static str) -> Twin {
    Twin {
        what,
        ..Twin::default()
    }
}

impl Twin {
    pub fn edit(mut self, e: Edit) -> Self {
        self.edits.push(e);
        self
    }
    pub fn from(mut self, from: &'static str) -> Self {
        self.from = Some(from);
        self
    }
    pub fn to(mut self, to: &'static str) -> Self {
        self.to = Some(to);
        self
    }
    pub fn path(mut self, path: &'static str) -> Self {
        self.path = Some(path);
        self
    }
    pub fn response(mut self, p: Payload) -> Self {
        self.response = Some(p);
        self
    }
    pub fn response_header(mut self, h: String) -> Self {
        self.response_headers = Some(vec![h]);
        self
    }
    pub fn no_response_headers(mut self) -> Self {
        self.response_headers = Some(Vec::new());
        self
    }
    pub fn body(mut self, p: Payload) -> Self {
        self.body = Some(p);
        self
    }
    pub fn seen(mut self, uuid: &'static str) -> Self {
        self.seen.push(uuid);
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.response_status = Some(status);
        self
    }
    pub fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
    pub fn misp_guard(mut self, e: Expect) -> Self {
        self.misp_guard = Some(e);
        self
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub method: &'static str,
    pub path: String,
    pub from: &'static str,
    pub to: &'static str,
    pub body: Option<Payload>,
    pub response: Option<Payload>,
    pub response_headers: Vec<String>,
    /// The response's HTTP status (`eval --response-status`; default 200).
    pub response_status: Option<u16>,
    /// The events the guard remembers letting through for this flow
    /// (`eval --seen-event`), when the scenario says; `None`: those its
    /// data belongs to ([`seen_events`]), a guard that has been running.
    pub seen: Option<Vec<&'static str>>,
    pub expect: Expect,
    /// misp-guard's verdict, where it differs from `expect` (the
    /// closed-world family; misp-guard's own scenarios expect its verdict).
    pub misp_guard: Option<Expect>,
    pub twins: Vec<Twin>,
}

impl Scenario {
    pub fn new(
        name: &'static str,
        method: &'static str,
        path: impl Into<String>,
        from: &'static str,
        to: &'static str,
    ) -> Self {
        Scenario {
            name,
            method,
            path: path.into(),
            from,
            to,
            body: None,
            response: None,
            response_headers: Vec::new(),
            response_status: None,
            seen: None,
            expect: Expect::Allow,
            misp_guard: None,
            twins: Vec::new(),
        }
    }
    /// The request body.
    pub fn request(mut self, p: Payload) -> Self {
        self.body = Some(p);
        self
    }
    /// The guard remembers letting exactly these events through (none
    /// until `seen` adds one).
    pub fn remembering(mut self, uuids: &[&'static str]) -> Self {
        self.seen = Some(uuids.to_vec());
        self
    }
    pub fn seen(mut self, uuid: &'static str) -> Self {
        self.seen.get_or_insert_with(Vec::new).push(uuid);
        self
    }
    pub fn status(mut self, status: u16) -> Self {
        self.response_status = Some(status);
        self
    }
    pub fn misp_guard(mut self, e: Expect) -> Self {
        self.misp_guard = Some(e);
        self
    }
    pub fn body(mut self, fixture: &'static str) -> Self {
        self.body = Some(Payload::Fixture(fixture));
        self
    }
    pub fn response(mut self, p: Payload) -> Self {
        self.response = Some(p);
        self
    }
    pub fn response_fixture(self, fixture: &'static str) -> Self {
        self.response(Payload::Fixture(fixture))
    }
    pub fn response_header(mut self, h: String) -> Self {
        self.response_headers.push(h);
        self
    }
    pub fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
    pub fn twin(mut self, t: Twin) -> Self {
        self.twins.push(t);
        self
    }
    /// Adds the standard twins of the fixture this scenario sends.
    pub fn with_fixture_twins(mut self) -> Self {
        if matches!(self.expect, Expect::Block(_)) {
            let fixture = match (&self.body, &self.response) {
                (Some(Payload::Fixture(f)), _) | (None, Some(Payload::Fixture(f))) => Some(*f),
                _ => None,
            };
            if let Some(f) = fixture {
                self.twins.extend(fixture_twins(f));
            }
        }
        self
    }
}

/// A pull scenario: `fixture` is the response body of a GET (or the given
/// method), judged with the destination's rules.
pub fn pull(
    name: &'static str,
    path: impl Into<String>,
    to: &'static str,
    from: &'static str,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    Scenario::new(name, "GET", path, from, to)
        .response_fixture(fixture)
        .expect(expect)
        .with_fixture_twins()
}

/// A push scenario: `fixture` is the request body of a POST, judged with the
/// source's rules. Default: bravo_2 → bravo_1 (instance_2_2 → instance_2_1).
pub fn push(
    name: &'static str,
    path: impl Into<String>,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    push_between(name, path, TO_BRAVO_1, BRAVO_2, fixture, expect)
}

pub fn push_between(
    name: &'static str,
    path: impl Into<String>,
    to: &'static str,
    from: &'static str,
    fixture: &'static str,
    expect: Expect,
) -> Scenario {
    // MISP edits the event the body names, and its push puts that
    // event's UUID in the path; the guard refuses a path naming another.
    let mut path = path.into();
    if path == ed_path()
        && let Some(uuid) = fixture_event_uuid(fixture)
    {
        path = path.replace(EVENT_UUID, &uuid);
    }
    Scenario::new(name, "POST", path, from, to)
        .body(fixture)
        .expect(expect)
        .with_fixture_twins()
}

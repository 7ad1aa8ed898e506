//! How a test that cannot run on this machine (not root, a tool missing)
//! gets out of the way — and how CI forbids it: with
//! `MISP_WARDEN_REQUIRE_ALL=1` (`.ci/run` sets it) a skip is a failure, so
//! a machine missing `nft` or `buildah` fails loudly instead of passing
//! half the suite. Used as `lab::skip` by the lab's tests and through
//! `#[path = "lab/skip.rs"] mod skip;` by the others.

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "MISP_WARDEN_REQUIRE_ALL";

/// Says why the test does not run here; panics instead when every test
/// must run. The caller returns right after.
pub fn skip(why: &str) {
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_ALL}=1 and this test cannot run here: {why}");
    }
    eprintln!("skipped: {why}");
}

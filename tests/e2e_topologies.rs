//! The other two deployments `misp-warden nft` renders, end to end in the
//! namespace lab (`tests/e2e.rs` covers the gateway):
//!
//! - **same-host**: MISP and the daemon on one host (`NAME-in`); the output
//!   route hook marks MISP's connections to instance endpoints, policy routing
//!   loops them back to the listener, and the daemon's own upstream
//!   connections leave untouched (`meta skuid`).
//! - **container-host**: the inside is a container bridge shared with other
//!   workloads; only the instances' traffic, and traffic to their endpoints,
//!   goes to the daemon.
//!
//! Each test loads the ruleset the binary renders (no ruleset is written
//! here) and proves what the remote received. Needs root; skips otherwise.

mod lab;

use lab::Lab;
use lab::misp::{PUSH, assert_refused, config, event, push, pushed_tags};

/// An address on the inside that is no instance (another container, say).
const OTHER_WORKLOAD: &str = "192.0.2.50";
const UUID: &str = "7a0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";

/// Pushes an event tagged `tag` to `host`.
fn push_tag(lab: &Lab, host: &str, tag: &str, extra: &[&str]) -> lab::Curl {
    push(
        lab,
        &format!("https://{host}{PUSH}"),
        &event(UUID, tag, "topology test"),
        extra,
    )
}

#[test]
fn same_host_guards_misp_beside_the_daemon_over_v4_and_v6() {
    let Some(mut lab) = Lab::new_same_host("samehost") else {
        return;
    };
    let remote = lab.start_remote(
        &["203.0.113.20:443", "[2001:db8:2::20]:443"],
        Some("partner"),
    );
    lab.start_warden(&config());
    for host in ["misp.partner.example", "misp6.partner.example"] {
        let c = push_tag(&lab, host, "tlp:green", &[]);
        assert_eq!(c.status, 200, "{host}: {}{}", c.text(), c.stderr);
        assert_refused(&push_tag(&lab, host, "tlp:red", &[]), "blocked_tags");
    }
    // Only the allowed pushes arrived, each once: the daemon's own upstream
    // connection was not caught again (it would have looped or been refused).
    assert_eq!(pushed_tags(&lab, remote), ["tlp:green", "tlp:green"]);
    let log = lab.warden_log();
    assert_eq!(log.matches("verdict=\"allow\"").count(), 2, "{log}");
    assert_eq!(log.matches("verdict=\"block\"").count(), 2, "{log}");

    // The daemon stopped, the ruleset still loaded: closed, not open.
    assert!(lab.stop_warden().success());
    let c = push_tag(
        &lab,
        "misp.partner.example",
        "tlp:green",
        &["--connect-timeout", "2"],
    );
    assert_eq!(c.status, 0, "{c:?}");
    assert_eq!(pushed_tags(&lab, remote).len(), 2);
}

#[test]
fn container_host_diverts_the_instances_and_leaves_other_workloads_alone() {
    let Some(mut lab) = Lab::new_container_host("ctrhost") else {
        return;
    };
    let remote = lab.start_remote(&["203.0.113.20:443"], Some("partner"));
    let elsewhere = lab.start_remote(&["203.0.113.30:443"], Some("partner"));
    let out = lab.run_in(
        "ip",
        &["addr", "add", &format!("{OTHER_WORKLOAD}/24"), "dev", "in0"],
    );
    assert!(out.status.success(), "{out:?}");
    lab.start_warden(&config());

    // The MISP container: judged.
    let c = push_tag(&lab, "misp.partner.example", "tlp:green", &[]);
    assert_eq!(c.status, 200, "{}{}", c.text(), c.stderr);
    assert_refused(
        &push_tag(&lab, "misp.partner.example", "tlp:red", &[]),
        "blocked_tags",
    );
    // Another workload reaching an instance's endpoint: judged too, and
    // refused as no instance.
    let other = ["--interface", OTHER_WORKLOAD];
    assert_refused(
        &push_tag(&lab, "misp.partner.example", "tlp:green", &other),
        "unknown_source",
    );
    // The same workload's HTTPS elsewhere is none of the guard's business:
    // it reaches the host directly (the remote's own certificate answers).
    let ca = lab.dir().join("remote-ca.pem");
    let c = lab.curl_with_ca(
        &ca,
        &[
            "--interface",
            OTHER_WORKLOAD,
            "--resolve",
            "misp.partner.example:443:203.0.113.30",
            "https://misp.partner.example/servers/getVersion",
        ],
    );
    assert_ne!(c.status, 0, "{c:?}");
    let direct = lab.records(elsewhere);
    assert_eq!(direct.len(), 1, "{direct:?}");
    assert_eq!(direct[0].peer, OTHER_WORKLOAD);
    // The MISP container's own HTTPS elsewhere goes to the daemon instead.
    let c = lab.curl(&["https://unknown.example/servers/getVersion"]);
    assert_refused(&c, "unknown_destination");
    assert_eq!(lab.records(elsewhere).len(), 1);
    assert_eq!(pushed_tags(&lab, remote), ["tlp:green"]);
}

//! `Config::from_json` on arbitrary text.
//!
//! What a `Config` in hand promises (src/config/mod.rs, parse.rs): every
//! compartment named exists, no two instances share an address and port or
//! a host, no instance's sync port is a listener port, host names are lower
//! case, and a feed's path has no trailing `/`. Errors must render.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_json(text) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for (comp, targets) in &config.can_reach {
        for t in targets {
            assert!(
                config.can_reach.contains_key(t),
                "{comp} reaches undefined {t}"
            );
        }
    }
    for (n, a) in config.instances.iter().enumerate() {
        assert!(
            config.can_reach.contains_key(&a.compartment_id),
            "instance {} in undefined compartment",
            a.id
        );
        assert_eq!(a.host, a.host.to_ascii_lowercase(), "host of {}", a.id);
        assert!(
            !config.warden.listen.iter().any(|l| l.port() == a.port),
            "instance {} on a listener port",
            a.id
        );
        for b in &config.instances[..n] {
            assert!(
                !(a.ip == b.ip && a.port == b.port),
                "{} and {} share ip:port",
                a.id,
                b.id
            );
            assert_ne!(a.host, b.host, "{} and {} share a host", a.id, b.id);
        }
        assert!(config.instance(&a.id).is_some());
        assert!(config.instance_by_host(&a.host).is_some());
    }
    for f in &config.feeds {
        assert!(!f.path.ends_with('/'), "feed {} path {:?}", f.id, f.path);
        assert_eq!(f.host, f.host.to_ascii_lowercase(), "feed {} host", f.id);
        assert!(config.feed_at(&f.host, f.port).is_some());
    }
    for d in &config.allowlist.domains {
        assert!(config.domain_allowed(d));
    }
    for u in &config.allowlist.urls {
        assert!(u.target.starts_with('/'), "allowlist target {:?}", u.target);
        assert!(config.url_allowed(&u.host, u.port, &u.target));
    }
});

//! The lab mapping (the table in the crate's doc): where each instance of
//! the parity config sits as a client and as a destination, the clients
//! of the runs and the parity config rewritten for each group.

use super::*;

/// Where one parity instance sits in the lab.
pub struct Place {
    id: &'static str,
    /// Its address on `in0`, when it is the client.
    pub inside: &'static str,
    /// Its addresses on `out0`, when it is a destination.
    pub out4: &'static str,
    pub out6: &'static str,
}

pub const PLACES: [Place; 6] = [
    Place {
        id: "alpha_1",
        inside: "192.0.2.11",
        out4: "203.0.113.111",
        out6: "2001:db8:2::111",
    },
    Place {
        id: "alpha_2",
        inside: "192.0.2.12",
        out4: "203.0.113.112",
        out6: "2001:db8:2::112",
    },
    Place {
        id: "bravo_1",
        inside: "192.0.2.21",
        out4: "203.0.113.121",
        out6: "2001:db8:2::121",
    },
    Place {
        id: "bravo_2",
        inside: "192.0.2.22",
        out4: "203.0.113.122",
        out6: "2001:db8:2::122",
    },
    Place {
        id: "charlie_1",
        inside: "192.0.2.31",
        out4: "203.0.113.131",
        out6: "2001:db8:2::131",
    },
    Place {
        id: "delta_1",
        inside: "2001:db8:1::41",
        out4: "203.0.113.141",
        out6: "2001:db8:2::141",
    },
];

/// Destination names that are no instance: (name, IPv4, IPv6) on `out0`.
pub const OTHER_HOSTS: [(&str, &str, &str); 5] = [
    (
        "downloads.mirror.example",
        "203.0.113.150",
        "2001:db8:2::150",
    ),
    ("lists.zone-x.test", "203.0.113.151", "2001:db8:2::151"),
    ("nowhere.zone-a.example", "203.0.113.152", "2001:db8:2::152"),
    ("feed1.mirror.example", "203.0.113.161", "2001:db8:2::161"),
    ("feed2.mirror.example", "203.0.113.162", "2001:db8:2::162"),
];

/// Clients in no instance: on `in0`, as they are in the scenarios.
pub const UNKNOWN_CLIENTS: [&str; 2] = ["192.0.2.200", "203.0.113.90"];
/// Of those, the ones outside `in0`'s /24: a /32 plus a route on the gateway.
pub const UNKNOWN_CLIENTS_ELSEWHERE: [&str; 1] = ["203.0.113.90"];

/// The stand-in client of the pulls where alpha_1 pulls from itself.
const SELF_CLIENT_HOST: &str = "alpha1-client.lab.example";

fn place(id: &str) -> &'static Place {
    PLACES
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no lab place for instance {id}"))
}

pub fn is_v6(addr: &str) -> bool {
    addr.contains(':')
}

/// Who the client of a run is, which decides the config in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    /// A parity instance, at its `in0` address.
    Instance(String),
    /// alpha_1 pulling from itself: `<id>_client` at the `in0` address.
    OwnDestination(String),
    /// An address of no instance.
    Unknown(String),
}

impl Client {
    pub fn v6(&self) -> bool {
        match self {
            Client::Instance(id) | Client::OwnDestination(id) => is_v6(place(id).inside),
            Client::Unknown(ip) => is_v6(ip),
        }
    }

    /// The address curl binds to.
    pub fn address(&self) -> &str {
        match self {
            Client::Instance(id) | Client::OwnDestination(id) => place(id).inside,
            Client::Unknown(ip) => ip,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Client::Instance(id) => id.clone(),
            Client::OwnDestination(id) => format!("{id} (pulling from itself)"),
            Client::Unknown(ip) => format!("unknown {ip}"),
        }
    }
}

/// The parity config, and its instances by IP and by host.
pub struct Parity {
    pub config: Value,
    by_ip: BTreeMap<String, String>,
    pub by_host: BTreeMap<String, String>,
}

impl Parity {
    pub fn load() -> Parity {
        let path = fixture_dir().join("config.json");
        let config: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read the parity config"))
                .expect("the parity config is JSON");
        let mut by_ip = BTreeMap::new();
        let mut by_host = BTreeMap::new();
        for (id, inst) in config["instances"].as_object().expect("instances") {
            by_ip.insert(inst["ip"].as_str().unwrap().to_string(), id.clone());
            by_host.insert(inst["host"].as_str().unwrap().to_string(), id.clone());
        }
        Parity {
            config,
            by_ip,
            by_host,
        }
    }

    pub fn client(&self, s: &Scenario) -> Client {
        let (host, _) = host_port(s.to);
        match self.by_ip.get(s.from) {
            Some(id) if self.by_host.get(host) == Some(id) => Client::OwnDestination(id.clone()),
            Some(id) => Client::Instance(id.clone()),
            None => {
                assert!(
                    UNKNOWN_CLIENTS.contains(&s.from),
                    "client {} has no lab address",
                    s.from
                );
                Client::Unknown(s.from.to_string())
            }
        }
    }

    /// The lab address of a destination name, for a client of that family.
    pub fn destination(&self, host: &str, v6: bool) -> &'static str {
        if let Some(id) = self.by_host.get(host) {
            let p = place(id);
            return if v6 { p.out6 } else { p.out4 };
        }
        let (_, v4addr, v6addr) = OTHER_HOSTS
            .iter()
            .find(|(name, ..)| *name == host)
            .unwrap_or_else(|| panic!("destination {host} has no lab address"));
        if v6 { v6addr } else { v4addr }
    }

    /// The parity config with the addresses of `client`'s group.
    pub fn config_for(&self, client: &Client) -> Value {
        let mut config = self.config.clone();
        let v6 = client.v6();
        let instances = config["instances"].as_object_mut().unwrap();
        for (id, inst) in instances.iter_mut() {
            let p = place(id);
            inst["ip"] = match client {
                Client::Instance(c) if c == id => json!(p.inside),
                _ if v6 => json!(p.out6),
                _ => json!(p.out4),
            };
        }
        if let Client::OwnDestination(id) = client {
            let mut stand_in = instances[id].clone();
            stand_in["ip"] = json!(place(id).inside);
            stand_in["host"] = json!(SELF_CLIENT_HOST);
            instances.insert(format!("{id}_client"), stand_in);
        }
        config
    }
}

pub fn host_port(to: &str) -> (&str, u16) {
    let (host, port) = to
        .rsplit_once(':')
        .expect("scenario destinations are HOST:PORT");
    (host, port.parse().expect("a port"))
}

//! A network, `ADDR/BITS`, and whether an address is in it: the broker's `networks`, the
//! profile's, and the `from=` of the keys the broker's user logs in with.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `ADDR/BITS` (IPv4 or IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    bits: u8,
}

impl Network {
    pub fn parse(s: &str) -> std::result::Result<Network, String> {
        let bad = || format!("{s:?} is not a network ADDR/BITS");
        let (a, b) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let bits: u8 = b.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return Err(bad());
        }
        Ok(Network { addr, bits })
    }

    /// Whether the network holds `ip`. An IPv4 client is the same host in its IPv4-mapped
    /// form (`::ffff:10.77.0.5`), whichever way the client's address or the network is written.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let prefix = |a: u128, b: u128, width: u32| {
            let bits = u32::from(self.bits);
            bits == 0 || (a ^ b) >> (width - bits) == 0
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                prefix(u128::from(u32::from(n)), u128::from(u32::from(i)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => prefix(u128::from(n), u128::from(i), 128),
            (IpAddr::V6(n), IpAddr::V4(i)) => {
                prefix(u128::from(n), u128::from(i.to_ipv6_mapped()), 128)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Network::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_what_they_should() {
        let n = Network::parse("10.77.0.0/24").unwrap();
        assert!(n.contains("10.77.0.5".parse().unwrap()));
        assert!(n.contains("::ffff:10.77.0.5".parse().unwrap()));
        assert!(!n.contains("10.77.1.5".parse().unwrap()));
        assert!(!n.contains("fe80::1".parse().unwrap()));
        // Written in IPv4-mapped form, it holds the same clients, in either form.
        let m = Network::parse("::ffff:10.77.0.0/120").unwrap();
        assert!(m.contains("10.77.0.5".parse().unwrap()));
        assert!(m.contains("::ffff:10.77.0.5".parse().unwrap()));
        assert!(!m.contains("10.77.1.5".parse().unwrap()));
        assert!(
            Network::parse("::/0")
                .unwrap()
                .contains("10.77.1.5".parse().unwrap())
        );
        assert!(!n.contains("::1".parse().unwrap()));
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(
            Network::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        for bad in [
            "10.77.0.0",
            "10.77.0.0/33",
            "x/8",
            "10.77.0.0/-1",
            "fd00::/129",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_a_network_panic(n in "[0-9a-f:./]{0,45}") {
            if let Ok(net) = Network::parse(&n) {
                let _ = net.contains("10.77.0.5".parse().unwrap());
                let _ = net.contains("fd00::1".parse().unwrap());
                proptest::prop_assert_eq!(Network::parse(&net.to_string()), Ok(net));
            }
        }
    }
}

//! Values of the profile that are checked once, when it is read, and carried typed from then on:
//! nothing downstream parses them again or falls back to a default. Each keeps the text it was
//! written as, so a profile saved again (the first-boot copy) reads exactly as it was given.

use serde::{Deserialize, Serialize};

/// A number in `MIN..=MAX` (a timeout in seconds, a port): out of range is an error when the
/// profile is read, so it can never overflow a deadline later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// A value known to be in range (defaults); panics otherwise, so only for constants.
    pub const fn new(v: u64) -> Self {
        assert!(v >= MIN && v <= MAX);
        Bounded(v)
    }
    pub fn get(self) -> u64 {
        self.0
    }
    pub fn secs(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}

impl<const MIN: u64, const MAX: u64> TryFrom<u64> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(v: u64) -> Result<Self, String> {
        if (MIN..=MAX).contains(&v) {
            Ok(Bounded(v))
        } else {
            Err(format!("{v} is outside {MIN}..{MAX}"))
        }
    }
}

impl<const MIN: u64, const MAX: u64> From<Bounded<MIN, MAX>> for u64 {
    fn from(b: Bounded<MIN, MAX>) -> u64 {
        b.0
    }
}

impl<const MIN: u64, const MAX: u64> std::fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Seconds of a timeout that waits on the network or a remote (1 s to 5 min).
pub type ShortSecs = Bounded<1, 300>;
/// Seconds a join may take in all (1 s to a day).
pub type JoinSecs = Bounded<1, 86_400>;
/// A TCP port.
pub type Port = Bounded<1, 65_535>;

impl Port {
    pub fn u16(self) -> u16 {
        self.0 as u16
    }
}

/// A swarm manager's address as written, `HOST[:PORT]` or `[V6]:PORT`, port 2377 when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ManagerAddr {
    text: String,
    host: String,
    port: u16,
}

impl ManagerAddr {
    /// The host alone (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The host as it goes into a URL or `HOST:PORT` (an IPv6 address in brackets).
    pub fn host_for_url(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
    /// `HOST:PORT` with the port always given: the swarm address a join goes to.
    pub fn swarm_addr(&self) -> String {
        format!("{}:{}", self.host_for_url(), self.port)
    }
}

impl TryFrom<String> for ManagerAddr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let (host, port) = host_port(&text, 2377)?;
        Ok(ManagerAddr { text, host, port })
    }
}

/// A server's address as written, `HOST[:PORT]` or `[V6]:PORT`, port 1984 (Xymon's) when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerAddr {
    text: String,
    pub host: String,
    pub port: u16,
}

impl ServerAddr {
    pub fn parse(text: &str) -> Result<ServerAddr, String> {
        Self::try_from(text.to_string())
    }
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for ServerAddr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let (host, port) = host_port(&text, 1984)?;
        Ok(ServerAddr { text, host, port })
    }
}

impl From<ServerAddr> for String {
    fn from(m: ServerAddr) -> String {
        m.text
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`: the host (an IPv6 address without brackets) and the port.
fn host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    {
        let bad = || format!("'{text}' is not HOST[:PORT] (IPv6: [ADDR]:PORT)");
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (h, p) = rest.split_once(']').ok_or_else(bad)?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad());
            }
            (
                h.to_string(),
                p.strip_prefix(':').or((!p.is_empty()).then_some("x")),
            )
        } else if text.matches(':').count() > 1 {
            return Err(bad()); // a bare IPv6 address is ambiguous: write [ADDR]:PORT
        } else {
            match text.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (text.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0 && p.to_string().len() == port.unwrap_or_default().len())
                .ok_or_else(bad)?,
            None => default_port,
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || ".-_:".contains(c);
        if host.is_empty() || !host.chars().all(ok) || host.starts_with('-') {
            return Err(bad());
        }
        Ok((host, port))
    }
}

impl From<ManagerAddr> for String {
    fn from(m: ManagerAddr) -> String {
        m.text
    }
}

/// The pin of a swarm's root CA as written (`sha256:<64 hex>` as `docker swarm ca | sha256sum`
/// prints it on a manager, or the 50-character digest part of a join token), and as 64 lowercase
/// hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaPin {
    text: String,
    hex: String,
}

impl CaPin {
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl TryFrom<String> for CaPin {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match crate::vocab::ca_pin_hex(&text) {
            Some(hex) => Ok(CaPin { text, hex }),
            None => Err(
                "is neither sha256:<64 hex digits> nor the 50-character digest of a join token"
                    .into(),
            ),
        }
    }
}

impl From<CaPin> for String {
    fn from(c: CaPin) -> String {
        c.text
    }
}

/// How often something runs, as written (`1d`, `12h`, `90m`), and in seconds: 1 hour to 365
/// days, whole minutes (a systemd timer takes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Interval {
    text: String,
    secs: u64,
}

impl Interval {
    pub fn secs(&self) -> u64 {
        self.secs
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for Interval {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let secs = crate::host::clock::parse_duration(&text)
            .ok_or_else(|| format!("'{text}' is not a duration such as 1d, 12h or 90m"))?;
        if !(3600..=365 * 86_400).contains(&secs) || !secs.is_multiple_of(60) {
            return Err(format!(
                "'{text}' must be whole minutes between 1h and 365d"
            ));
        }
        Ok(Interval { text, secs })
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> String {
        i.text
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A thin-pool chunk size as written (`512K`), and in bytes: 64 KiB to 1 GiB, a multiple of 64 KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChunkSize {
    text: String,
    bytes: u64,
}

impl ChunkSize {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// As written, for `lvcreate --chunksize`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        ChunkSize {
            text: "512K".into(),
            bytes: 512 << 10,
        }
    }
}

impl TryFrom<String> for ChunkSize {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let s = text.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num
            .parse()
            .map_err(|_| format!("'{s}' is not a size such as 512K"))?;
        let mul = match unit.to_ascii_uppercase().as_str() {
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            _ => return Err(format!("'{s}' needs a unit K, M or G (e.g. 512K)")),
        };
        let bytes = n.saturating_mul(mul);
        if !(64 << 10..=1 << 30).contains(&bytes) || !bytes.is_multiple_of(64 << 10) {
            return Err(format!(
                "'{s}' must be a multiple of 64K between 64K and 1G"
            ));
        }
        Ok(ChunkSize { text, bytes })
    }
}

impl From<ChunkSize> for String {
    fn from(c: ChunkSize) -> String {
        c.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Result<ManagerAddr, String> {
        ManagerAddr::try_from(s.to_string())
    }

    #[test]
    fn intervals_as_the_contract_writes_them() {
        let i = |s: &str| Interval::try_from(s.to_string()).map(|i| i.secs());
        assert_eq!(i("1d"), Ok(86_400));
        assert_eq!(i("12h"), Ok(43_200));
        assert_eq!(i("90m"), Ok(5400));
        assert_eq!(i("365d"), Ok(365 * 86_400));
        for bad in ["30m", "3599s", "366d", "3601s", "1w", "d", "", "-1d", "1 d"] {
            assert!(i(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manager_addresses() {
        assert_eq!(m("m1").unwrap().swarm_addr(), "m1:2377");
        assert_eq!(m("10.0.0.1:2400").unwrap().swarm_addr(), "10.0.0.1:2400");
        let v6 = m("[fd00::1]:2377").unwrap();
        assert_eq!(
            (v6.host(), v6.swarm_addr().as_str()),
            ("fd00::1", "[fd00::1]:2377")
        );
        assert_eq!(m("[fd00::1]").unwrap().port(), 2377);
        for bad in [
            "", "m:x", "m:0", "m:+5", "fd00::1", "-m", "[zz]:1", "[::1]x", "m:", "a b",
        ] {
            assert!(m(bad).is_err(), "{bad}");
        }
        assert_eq!(
            String::from(m("m1").unwrap()),
            "m1",
            "written back as given"
        );
    }

    #[test]
    fn chunk_sizes() {
        let c = |s: &str| ChunkSize::try_from(s.to_string()).map(|c| c.bytes());
        assert_eq!(c("512K").unwrap(), 512 << 10);
        assert_eq!(c("1M").unwrap(), 1 << 20);
        assert!(c("512").is_err());
        assert!(c("32K").is_err());
        assert!(c("2G").is_err());
        assert!(c("18446744073709551615K").is_err());
    }

    #[test]
    fn bounded_numbers() {
        assert!(JoinSecs::try_from(0).is_err());
        assert!(JoinSecs::try_from(u64::MAX).is_err());
        assert_eq!(JoinSecs::try_from(300).unwrap().get(), 300);
        assert!(Port::try_from(65_536).is_err());
    }
}

//! SimLN network files (`import simln FILE` in a script, or `lnsim run FILE.json`): a
//! `sim_network` of channels, each with its capacity and each direction's policy, and
//! an `activity` list of payments (source, destination, interval, amount, optional
//! start and count). Nodes are named by their public keys (or an `alias` given beside
//! one) in the order they first appear; the simulator gives each its own keys.
//!
//! Beyond SimLN, a channel may say what `node_2` starts with (`node_2_balance_msat`);
//! SimLN splits a simulated channel evenly, which is the default here too. Fields SimLN
//! has that a node sets for all its channels here (`max_htlc_count`,
//! `max_in_flight_msat`) are checked as numbers and not applied.
//!
//! Every mistake names its place: `file: $.sim_network[2].node_1.base_fee: expected a
//! whole number`, or the line and column of malformed JSON.

use std::collections::BTreeMap;
use std::fmt;

use lightning::chan::manager::forward::ForwardingPolicy;
use serde_json::Value;

/// A mistake in a SimLN file and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimlnError {
    /// The file as named.
    pub file: String,
    /// The JSON path (`$.sim_network[0].capacity_msat`) or `line L column C`.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SimlnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.place, self.message)
    }
}

impl std::error::Error for SimlnError {}

/// A channel of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimlnChannel {
    /// The funder (`node_1`) and the peer (`node_2`), as node indexes.
    pub node_1: usize,
    /// The peer.
    pub node_2: usize,
    /// Its capacity, whole sat.
    pub capacity_sat: u64,
    /// What `node_2` starts with.
    pub node_2_balance_msat: u64,
    /// `node_1`'s forwarding policy over it.
    pub policy_1: ForwardingPolicy,
    /// `node_2`'s.
    pub policy_2: ForwardingPolicy,
}

/// A payment series of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimlnActivity {
    /// The payer, as a node index.
    pub source: usize,
    /// The payee.
    pub destination: usize,
    /// Seconds after the network is ready that the first payment goes.
    pub start_secs: u64,
    /// How many payments (`None`: until the run ends).
    pub count: Option<u64>,
    /// Seconds between payments: a value, or a range drawn from each time.
    pub interval_secs: (u64, u64),
    /// Each payment's amount: a value, or a range drawn from each time.
    pub amount_msat: (u64, u64),
}

/// A SimLN file, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimlnNetwork {
    /// How many nodes the channels name.
    pub node_count: usize,
    /// The channels.
    pub channels: Vec<SimlnChannel>,
    /// The payment series.
    pub activity: Vec<SimlnActivity>,
}

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn error(&self, place: &str, message: impl Into<String>) -> SimlnError {
        SimlnError {
            file: self.file.to_string(),
            place: place.to_string(),
            message: message.into(),
        }
    }

    fn field<'v>(&self, object: &'v Value, path: &str, key: &str) -> Result<&'v Value, SimlnError> {
        object
            .get(key)
            .ok_or_else(|| self.error(path, format!("missing field `{key}`")))
    }

    fn whole(&self, value: &Value, path: &str) -> Result<u64, SimlnError> {
        value
            .as_u64()
            .ok_or_else(|| self.error(path, format!("expected a whole number, found {value}")))
    }

    fn whole_field(&self, object: &Value, path: &str, key: &str) -> Result<u64, SimlnError> {
        let value = self.field(object, path, key)?;
        self.whole(value, &format!("{path}.{key}"))
    }

    /// A value, or a range `[min, max]` with min at most max.
    fn value_or_range(&self, object: &Value, path: &str, key: &str) -> Result<(u64, u64), SimlnError> {
        let value = self.field(object, path, key)?;
        let at = format!("{path}.{key}");
        match value {
            Value::Array(bounds) => {
                let [min, max] = bounds.as_slice() else {
                    return Err(self.error(&at, "a range is two numbers, [min, max]"));
                };
                let (min, max) = (
                    self.whole(min, &format!("{at}[0]"))?,
                    self.whole(max, &format!("{at}[1]"))?,
                );
                if min > max {
                    return Err(self.error(&at, "the range's minimum is above its maximum"));
                }
                Ok((min, max))
            }
            _ => {
                let v = self.whole(value, &at)?;
                Ok((v, v))
            }
        }
    }
}

/// Reads a SimLN file's text (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<SimlnNetwork, SimlnError> {
    let reader = Reader { file };
    let root: Value = serde_json::from_str(text).map_err(|e| {
        reader.error(
            &format!("line {} column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    if !root.is_object() {
        return Err(reader.error("$", "expected an object with `sim_network`"));
    }
    let entries = reader
        .field(&root, "$", "sim_network")?
        .as_array()
        .ok_or_else(|| reader.error("$.sim_network", "expected a list of channels"))?;
    if entries.is_empty() {
        return Err(reader.error("$.sim_network", "no channels: the run would test nothing"));
    }
    // Nodes by public key (and alias), in order of first appearance.
    let mut nodes: BTreeMap<String, usize> = BTreeMap::new();
    let mut aliases: BTreeMap<String, usize> = BTreeMap::new();
    let mut channels = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("$.sim_network[{index}]");
        if !entry.is_object() {
            return Err(reader.error(&path, "expected a channel object"));
        }
        let capacity_msat = reader.whole_field(entry, &path, "capacity_msat")?;
        let capacity_sat = capacity_msat / 1000;
        crate::scenario::check_capacity(capacity_sat)
            .map_err(|why| reader.error(&format!("{path}.capacity_msat"), why))?;
        let mut ends = [0usize; 2];
        let mut policies = [ForwardingPolicy::default(); 2];
        for (side, key) in ["node_1", "node_2"].into_iter().enumerate() {
            let end_path = format!("{path}.{key}");
            let end = reader.field(entry, &path, key)?;
            let pubkey = reader
                .field(end, &end_path, "pubkey")?
                .as_str()
                .ok_or_else(|| reader.error(&format!("{end_path}.pubkey"), "expected a public key in hex"))?;
            let parsed = pubkey.parse::<lightning::bitcoin::secp256k1::PublicKey>();
            if parsed.is_err() {
                return Err(reader.error(
                    &format!("{end_path}.pubkey"),
                    format!("`{pubkey}` is not a compressed public key in hex"),
                ));
            }
            let next = nodes.len();
            let node = *nodes.entry(pubkey.to_lowercase()).or_insert(next);
            if let Some(alias) = end.get("alias").and_then(Value::as_str) {
                if let Some(other) = aliases.insert(alias.to_string(), node).filter(|other| *other != node) {
                    return Err(reader.error(
                        &format!("{end_path}.alias"),
                        format!("alias `{alias}` names two nodes ({other} and {node})"),
                    ));
                }
            }
            for key in ["max_htlc_count", "max_in_flight_msat"] {
                reader.whole_field(end, &end_path, key)?;
            }
            let min_htlc = reader.whole_field(end, &end_path, "min_htlc_size_msat")?;
            let max_htlc = reader.whole_field(end, &end_path, "max_htlc_size_msat")?;
            if min_htlc > max_htlc {
                return Err(reader.error(
                    &format!("{end_path}.min_htlc_size_msat"),
                    "the smallest HTLC is above the largest",
                ));
            }
            let narrow = |key: &str, max: u64| -> Result<u64, SimlnError> {
                let value = reader.whole_field(end, &end_path, key)?;
                if value > max {
                    return Err(reader.error(&format!("{end_path}.{key}"), format!("at most {max}")));
                }
                Ok(value)
            };
            let cltv_expiry_delta = narrow("cltv_expiry_delta", 2016)?;
            policies[side] = ForwardingPolicy {
                fee_base_msat: narrow("base_fee", u64::from(u32::MAX))? as u32,
                fee_proportional_millionths: narrow("fee_rate_prop", u64::from(u32::MAX))? as u32,
                cltv_expiry_delta: cltv_expiry_delta as u16,
                htlc_minimum_msat: min_htlc,
                htlc_maximum_msat: max_htlc,
            };
            ends[side] = node;
        }
        if ends[0] == ends[1] {
            return Err(reader.error(&path, "a channel from a node to itself"));
        }
        let node_2_balance_msat = match entry.get("node_2_balance_msat") {
            Some(value) => {
                let at = format!("{path}.node_2_balance_msat");
                let balance = reader.whole(value, &at)?;
                if balance > capacity_sat * 1000 {
                    return Err(reader.error(&at, "more than the channel holds"));
                }
                balance
            }
            None => capacity_sat * 1000 / 2,
        };
        channels.push(SimlnChannel {
            node_1: ends[0],
            node_2: ends[1],
            capacity_sat,
            node_2_balance_msat,
            policy_1: policies[0],
            policy_2: policies[1],
        });
    }
    if nodes.len() > 1000 {
        return Err(reader.error("$.sim_network", "more than 1000 nodes"));
    }
    let name_node = |value: &Value, at: &str| -> Result<usize, SimlnError> {
        let name = value
            .as_str()
            .ok_or_else(|| reader.error(at, "expected a public key or an alias"))?;
        nodes
            .get(&name.to_lowercase())
            .or_else(|| aliases.get(name))
            .copied()
            .ok_or_else(|| reader.error(at, format!("`{name}` is no node of the sim_network")))
    };
    let mut activity = Vec::new();
    if let Some(list) = root.get("activity") {
        let list = list
            .as_array()
            .ok_or_else(|| reader.error("$.activity", "expected a list of payment series"))?;
        for (index, entry) in list.iter().enumerate() {
            let path = format!("$.activity[{index}]");
            let source = name_node(reader.field(entry, &path, "source")?, &format!("{path}.source"))?;
            let destination = name_node(
                reader.field(entry, &path, "destination")?,
                &format!("{path}.destination"),
            )?;
            if source == destination {
                return Err(reader.error(&path, "a node paying itself"));
            }
            let interval_secs = reader.value_or_range(entry, &path, "interval_secs")?;
            if interval_secs.0 == 0 {
                return Err(reader.error(&format!("{path}.interval_secs"), "an interval of at least a second"));
            }
            let amount_msat = reader.value_or_range(entry, &path, "amount_msat")?;
            if amount_msat.0 == 0 {
                return Err(reader.error(&format!("{path}.amount_msat"), "a payment of at least 1 msat"));
            }
            let start_secs = match entry.get("start_secs") {
                Some(Value::Null) | None => 0,
                Some(value) => reader.whole(value, &format!("{path}.start_secs"))?,
            };
            let count = match entry.get("count") {
                Some(Value::Null) | None => None,
                Some(value) => Some(reader.whole(value, &format!("{path}.count"))?),
            };
            activity.push(SimlnActivity {
                source,
                destination,
                start_secs,
                count,
                interval_secs,
                amount_msat,
            });
        }
    }
    Ok(SimlnNetwork {
        node_count: nodes.len(),
        channels,
        activity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../scenarios/simln_example.json");

    #[test]
    fn the_bundled_example_reads() {
        let network = parse("simln_example.json", EXAMPLE).expect("reads");
        assert_eq!(network.node_count, 5);
        assert_eq!(network.channels.len(), 5);
        assert_eq!(network.activity.len(), 3);
        let first = &network.channels[0];
        assert_eq!((first.node_1, first.node_2), (0, 1));
        assert_ne!(first.policy_1, first.policy_2, "each direction has its own policy");
    }

    /// Each mistake names its JSON path.
    #[test]
    fn mistakes_name_their_place() {
        let channel = |field: &str| EXAMPLE.replacen("\"base_fee\": 1000", &format!("\"base_fee\": {field}"), 1);
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "sim.json: line 1 column 1: not JSON"),
            ("[]".into(), "$: expected an object"),
            ("{}".into(), "$: missing field `sim_network`"),
            (r#"{"sim_network": []}"#.into(), "$.sim_network: no channels"),
            (
                channel("\"cheap\""),
                "$.sim_network[0].node_1.base_fee: expected a whole number",
            ),
            (
                channel("-1"),
                "$.sim_network[0].node_1.base_fee: expected a whole number",
            ),
            (
                EXAMPLE.replacen("\"capacity_msat\": 4000000000", "\"capacity_msat\": 1000", 1),
                "$.sim_network[0].capacity_msat: a channel of 1 sat",
            ),
            (
                EXAMPLE.replacen("\"source\": \"alice\"", "\"source\": \"mallory\"", 1),
                "$.activity[0].source: `mallory` is no node",
            ),
            (
                EXAMPLE.replacen("\"interval_secs\": 5", "\"interval_secs\": [6, 2]", 1),
                "$.activity[1].interval_secs: the range's minimum is above its maximum",
            ),
            (
                EXAMPLE.replacen("\"count\": 50", "\"count\": \"many\"", 1),
                "$.activity[1].count: expected a whole number",
            ),
        ];
        for (text, expected) in cases {
            let error = parse("sim.json", &text).expect_err(expected).to_string();
            assert!(error.contains(expected), "{error} should contain {expected}");
            assert!(error.starts_with("sim.json: "), "{error}");
        }
    }
}

//! Topology generators for scenario scripts (`topology KIND ...`): the channels of a
//! line, ring, star, grid or scale-free network over every node. A scale-free network
//! grows by preferential attachment (each new node opens channels to `degree` earlier
//! nodes, drawn in proportion to the channels they have) from its own seed, so every run
//! of a sweep has the same network and the seeds vary only what happens on it.

use crate::rng::{SimRng, StreamId};

/// A shape of network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// `0 - 1 - ... - n-1`.
    Line,
    /// A line whose ends are joined.
    Ring,
    /// Node 0 joined to every other.
    Star,
    /// Rows of `ceil(sqrt(n))` nodes, each joined to its right and lower neighbours.
    Grid,
    /// Preferential attachment: each node after the first `degree + 1` joins `degree`
    /// earlier ones, drawn in proportion to their channels.
    ScaleFree {
        /// Channels each new node opens.
        degree: usize,
        /// The generator's seed.
        seed: u64,
    },
}

impl Topology {
    /// Its name in scripts.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Line => "line",
            Topology::Ring => "ring",
            Topology::Star => "star",
            Topology::Grid => "grid",
            Topology::ScaleFree { .. } => "scale_free",
        }
    }

    /// The channels over `node_count` nodes, as (funder, peer): never a node to itself,
    /// never one pair twice.
    pub fn channels(self, node_count: usize) -> Vec<(usize, usize)> {
        let n = node_count;
        let mut channels: Vec<(usize, usize)> = match self {
            Topology::Line => (1..n).map(|i| (i - 1, i)).collect(),
            Topology::Ring => {
                let mut ring: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
                if n > 2 {
                    ring.push((n - 1, 0));
                }
                ring
            }
            Topology::Star => (1..n).map(|i| (0, i)).collect(),
            Topology::Grid => {
                let width = (1..=n).find(|w| w * w >= n).unwrap_or(1);
                let mut grid = Vec::new();
                for i in 0..n {
                    if (i + 1) % width != 0 && i + 1 < n {
                        grid.push((i, i + 1));
                    }
                    if i + width < n {
                        grid.push((i, i + width));
                    }
                }
                grid
            }
            Topology::ScaleFree { degree, seed } => scale_free(n, degree, seed),
        };
        channels.retain(|(a, b)| a != b);
        debug_assert!(
            {
                let mut pairs: Vec<(usize, usize)> = channels.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
                pairs.sort_unstable();
                pairs.windows(2).all(|w| w[0] != w[1])
            },
            "a pair joined twice"
        );
        channels
    }
}

/// Preferential attachment: nodes `0..=degree` form a line, then each later node opens
/// a channel to `degree` distinct earlier nodes, each drawn with probability in
/// proportion to its channels so far.
fn scale_free(n: usize, degree: usize, seed: u64) -> Vec<(usize, usize)> {
    let degree = degree.max(1);
    let core = (degree + 1).min(n);
    let mut channels: Vec<(usize, usize)> = (1..core).map(|i| (i - 1, i)).collect();
    // Every channel's two ends, once each: a uniform draw from it is a draw in
    // proportion to degree.
    let mut ends: Vec<usize> = channels.iter().flat_map(|&(a, b)| [a, b]).collect();
    if ends.is_empty() {
        ends.push(0);
    }
    let mut rng = SimRng::new(seed, StreamId::Workload);
    for node in core..n {
        let mut peers: Vec<usize> = Vec::new();
        // Bounded: `degree` distinct peers exist among the `node` earlier ones once the
        // core is in place; after many misses take the lowest not yet chosen.
        let wanted = degree.min(node);
        let mut draws = 0;
        while peers.len() < wanted {
            let peer = if draws < 64 * wanted {
                ends[rng.below(ends.len() as u64) as usize]
            } else {
                (0..node).find(|p| !peers.contains(p)).unwrap_or(0)
            };
            draws += 1;
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        for peer in peers {
            channels.push((node, peer));
            ends.extend([node, peer]);
        }
    }
    channels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degrees(n: usize, channels: &[(usize, usize)]) -> Vec<usize> {
        let mut degree = vec![0; n];
        for &(a, b) in channels {
            degree[a] += 1;
            degree[b] += 1;
        }
        degree
    }

    #[test]
    fn simple_shapes_have_their_channels() {
        assert_eq!(Topology::Line.channels(4), [(0, 1), (1, 2), (2, 3)]);
        assert_eq!(Topology::Ring.channels(4), [(0, 1), (1, 2), (2, 3), (3, 0)]);
        assert_eq!(Topology::Ring.channels(2), [(0, 1)], "two nodes: one channel");
        assert_eq!(Topology::Star.channels(4), [(0, 1), (0, 2), (0, 3)]);
        // 3 x 3: six across, six down.
        let grid = Topology::Grid.channels(9);
        assert_eq!(grid.len(), 12);
        assert_eq!(degrees(9, &grid)[4], 4, "the centre has four neighbours");
        assert_eq!(Topology::Grid.channels(5).len(), 5, "a ragged last row");
    }

    #[test]
    fn scale_free_networks_are_connected_skewed_and_seeded() {
        let shape = Topology::ScaleFree { degree: 2, seed: 7 };
        let channels = shape.channels(100);
        assert_eq!(channels.len(), 2 + 97 * 2);
        assert_eq!(channels, shape.channels(100), "the same seed, the same network");
        assert_ne!(channels, Topology::ScaleFree { degree: 2, seed: 8 }.channels(100));
        let degree = degrees(100, &channels);
        assert!(degree.iter().all(|d| *d >= 1), "connected: every node has a channel");
        let max = *degree.iter().max().expect("nodes");
        assert!(max >= 10, "hubs emerge: the best-connected node has {max} channels");
        // Every node after the core reaches an earlier one, which reaches node 0.
        for &(a, b) in &channels {
            assert!(a != b);
        }
    }
}

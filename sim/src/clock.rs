//! The virtual clock and the one event queue every simulated happening goes through.
//!
//! Events are ordered by time, then by the order they were scheduled in, so two events at
//! the same millisecond always come out the same way: the run depends only on its seed.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;

/// Simulated time: milliseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start.
    pub fn as_ms(self) -> u64 {
        self.0
    }

    /// `delay_ms` later, saturating at the end of time rather than wrapping to the past.
    pub fn after_ms(self, delay_ms: u64) -> SimTime {
        SimTime(self.0.saturating_add(delay_ms))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

struct Scheduled<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The clock and its pending events. Popping an event moves the clock to its time.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    next_seq: u64,
    now: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock: the time of the last event popped.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`, which must not be in the past: an event scheduled
    /// before now would make the clock run backwards, a simulator bug.
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        assert!(at >= self.now, "event scheduled in the past: {at} < {}", self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Scheduled { at, seq, event }));
    }

    /// Schedules `event` `delay_ms` from now.
    pub fn schedule_in(&mut self, delay_ms: u64, event: E) {
        self.schedule_at(self.now.after_ms(delay_ms), event);
    }

    /// The next event, with its time; the clock moves to it.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Reverse(next) = self.heap.pop()?;
        debug_assert!(next.at >= self.now);
        self.now = next.at;
        Some((next.at, next.event))
    }

    /// When the next event happens, without taking it.
    pub fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }

    /// Events pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn events_at_the_same_time_come_out_in_scheduling_order() {
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime(5), "b1");
        queue.schedule_at(SimTime(1), "a");
        queue.schedule_at(SimTime(5), "b2");
        queue.schedule_at(SimTime(5), "b3");
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (SimTime(1), "a"),
                (SimTime(5), "b1"),
                (SimTime(5), "b2"),
                (SimTime(5), "b3")
            ]
        );
        assert_eq!(queue.now(), SimTime(5));
    }

    #[test]
    fn schedule_in_counts_from_the_last_event() {
        let mut queue = EventQueue::new();
        queue.schedule_in(10, 1);
        assert_eq!(queue.pop(), Some((SimTime(10), 1)));
        queue.schedule_in(15, 2);
        assert_eq!(queue.next_time(), Some(SimTime(25)));
        assert_eq!(queue.len(), 1);
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn scheduling_in_the_past_is_loud() {
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime(10), ());
        queue.pop();
        queue.schedule_at(SimTime(9), ());
    }

    #[test]
    fn time_saturates_instead_of_wrapping() {
        assert_eq!(SimTime(u64::MAX - 1).after_ms(5), SimTime(u64::MAX));
        assert_eq!(SimTime(61_005).to_string(), "61.005s");
    }

    proptest! {
        #[test]
        fn pops_are_sorted_by_time_then_scheduling_order(times in proptest::collection::vec(0u64..20, 0..60)) {
            let mut queue = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                queue.schedule_at(SimTime(*t), i);
            }
            let popped: Vec<(SimTime, usize)> = std::iter::from_fn(|| queue.pop()).collect();
            prop_assert_eq!(popped.len(), times.len());
            for pair in popped.windows(2) {
                prop_assert!((pair[0].0, pair[0].1) < (pair[1].0, pair[1].1));
            }
            for (at, i) in popped {
                prop_assert_eq!(at, SimTime(times[i]));
            }
        }
    }
}

//! Which event of each room this node has handed to its sockets, so that events that reach it
//! from the bus late, twice, or not at all still go out in seq order with no hole and no
//! repeat. Pure bookkeeping; [`super::delivery`] does the reading and the sending.

use shared::{RoomId, Seq};
use std::collections::HashMap;

/// What to do with an event that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The next one: deliver it.
    Deliver,
    /// Delivered already (or older than what the sockets fetched themselves): drop it.
    Duplicate,
    /// Events after `after` and before this one are missing: read them from the database,
    /// deliver them, then this one.
    Gap { after: Seq },
}

#[derive(Debug, Default)]
pub struct Sequencer {
    /// The newest seq delivered (or known to the sockets) per room followed here.
    delivered: HashMap<RoomId, Seq>,
}

impl Sequencer {
    /// A socket here follows `room` and fetches everything up to `newest` itself. Keeps a
    /// watermark already set: the sockets that follow since have had what it says.
    pub fn follow(&mut self, room: &RoomId, newest: Seq) {
        self.delivered.entry(room.clone()).or_insert(newest);
    }

    /// Classifies event `seq` of `room`. A room without a watermark (its followers arrived
    /// by a membership change, which makes the client fetch the room from its start) starts
    /// at this event.
    pub fn offer(&mut self, room: &RoomId, seq: Seq) -> Step {
        let Some(&delivered) = self.delivered.get(room) else {
            self.delivered.insert(room.clone(), seq);
            return Step::Deliver;
        };
        if seq.0 <= delivered.0 {
            Step::Duplicate
        } else if seq.0 == delivered.0 + 1 {
            self.delivered.insert(room.clone(), seq);
            Step::Deliver
        } else {
            Step::Gap { after: delivered }
        }
    }

    /// Records that `seq` of `room` went out (a gap being filled).
    pub fn delivered(&mut self, room: &RoomId, seq: Seq) {
        let entry = self.delivered.entry(room.clone()).or_insert(seq);
        entry.0 = entry.0.max(seq.0);
    }

    /// The newest seq delivered for `room`.
    pub fn watermark(&self, room: &RoomId) -> Option<Seq> {
        self.delivered.get(room).copied()
    }

    /// Nobody here follows `room` any more.
    pub fn forget(&mut self, room: &RoomId) {
        self.delivered.remove(room);
    }

    /// The rooms followed here with their watermarks (to look for missed events after the
    /// bus was away).
    pub fn rooms(&self) -> Vec<(RoomId, Seq)> {
        self.delivered
            .iter()
            .map(|(r, s)| (r.clone(), *s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> RoomId {
        RoomId("r".into())
    }

    #[test]
    fn in_order_events_go_out_and_repeats_do_not() {
        let mut s = Sequencer::default();
        s.follow(&room(), Seq(3));
        assert_eq!(
            s.offer(&room(), Seq(3)),
            Step::Duplicate,
            "fetched by the socket"
        );
        assert_eq!(s.offer(&room(), Seq(4)), Step::Deliver);
        assert_eq!(s.offer(&room(), Seq(4)), Step::Duplicate);
        assert_eq!(s.offer(&room(), Seq(5)), Step::Deliver);
        assert_eq!(s.watermark(&room()), Some(Seq(5)));
    }

    #[test]
    fn a_hole_is_reported_until_it_is_filled() {
        let mut s = Sequencer::default();
        s.follow(&room(), Seq(1));
        assert_eq!(s.offer(&room(), Seq(4)), Step::Gap { after: Seq(1) });
        assert_eq!(s.watermark(&room()), Some(Seq(1)), "nothing delivered yet");
        s.delivered(&room(), Seq(2));
        s.delivered(&room(), Seq(3));
        assert_eq!(s.offer(&room(), Seq(4)), Step::Deliver);
        assert_eq!(s.offer(&room(), Seq(2)), Step::Duplicate, "the late copy");
    }

    #[test]
    fn a_later_follow_keeps_the_watermark() {
        let mut s = Sequencer::default();
        s.follow(&room(), Seq(2));
        s.follow(&room(), Seq(9));
        assert_eq!(s.offer(&room(), Seq(3)), Step::Deliver);
        s.forget(&room());
        assert_eq!(s.watermark(&room()), None);
        assert_eq!(
            s.offer(&room(), Seq(7)),
            Step::Deliver,
            "starts where it picks up"
        );
    }
}

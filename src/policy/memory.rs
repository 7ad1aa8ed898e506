//! What the guard remembers of events it judged, so that data belonging
//! to an event — sightings, proposals — can be judged by that event's
//! verdict.
//!
//! A sighting carries the *value* of the attribute it sights and nothing
//! a rule could read (no tag, type or distribution); a proposal carries an
//! attribute for an event whose own tags it does not repeat. Judged alone,
//! a sighting of an attribute in a `tlp:red` event would pass. So the guard
//! remembers, for each event it judged whole, whether it let it go to a
//! recipient, and lets an event's sightings and proposals go only where the
//! event itself went: allowed before, allowed now; refused, or never seen,
//! refused.
//!
//! The memory holds event UUIDs and a yes or no — never content — in RAM
//! only: it is bounded (the oldest verdicts are forgotten first), emptied
//! when a reload changes the rules (a verdict is only as good as the rules
//! that gave it), and lost on restart. After a restart the guard has
//! judged nothing yet, so an event's sightings and proposals are refused
//! until MISP syncs the event itself again (docs/security-model.md, "Cold start").

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

/// Who owns an event's data and who receives it: push, source → destination;
/// pull, destination → source. A verdict holds for that pair only (the
/// owner's rules, and on pulls the recipient's organisation, decided it).
#[derive(Debug, Clone, Copy)]
pub struct Flow<'a> {
    pub owner: &'a str,
    pub recipient: &'a str,
}

/// Event UUID (as a number) and the pair it flowed between (hashed).
type Key = (u64, u128);

/// The bounded memory of event verdicts. Shared by every connection of
/// the daemon; `eval` starts with an empty one (its `--seen-event` fills
/// it, to replay a warm daemon).
#[derive(Debug)]
pub struct EventVerdicts {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    allowed: HashMap<Key, bool>,
    /// Insertion order, for forgetting the oldest first.
    order: VecDeque<Key>,
}

impl Default for EventVerdicts {
    fn default() -> Self {
        EventVerdicts::new(crate::config::limits::REMEMBERED_EVENTS)
    }
}

impl EventVerdicts {
    pub fn new(capacity: usize) -> EventVerdicts {
        EventVerdicts {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// Records the verdict on event `uuid` for `flow`. A UUID that is not
    /// one is not remembered (nothing can later be judged by it).
    pub fn remember(&self, flow: Flow, uuid: &str, allowed: bool) {
        let Some(key) = key(flow, uuid) else {
            return;
        };
        let mut inner = self.lock();
        if inner.allowed.insert(key, allowed).is_none() {
            inner.order.push_back(key);
            while inner.order.len() > self.capacity {
                if let Some(old) = inner.order.pop_front() {
                    inner.allowed.remove(&old);
                }
            }
        }
    }

    /// The last verdict on event `uuid` for `flow`, if the guard gave one.
    pub fn recall(&self, flow: Flow, uuid: &str) -> Option<bool> {
        let key = key(flow, uuid)?;
        self.lock().allowed.get(&key).copied()
    }

    /// Forgets everything (the rules changed).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.allowed.clear();
        inner.order.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().allowed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy, for tests that judge one exchange several ways from the
    /// same memory.
    #[cfg(test)]
    pub(crate) fn copy(&self) -> EventVerdicts {
        let inner = self.lock();
        EventVerdicts {
            capacity: self.capacity,
            inner: Mutex::new(Inner {
                allowed: inner.allowed.clone(),
                order: inner.order.clone(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(flow: Flow, uuid: &str) -> Option<Key> {
    let uuid = crate::misp::uuid_number(uuid.trim_matches(super::PHP_TRIM))?;
    let mut h = DefaultHasher::new();
    (flow.owner, flow.recipient).hash(&mut h);
    Some((h.finish(), uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "5f1c0e2a-9b7d-4c3e-8a61-2d4f6b8c0e11";
    const B: &str = "6a2d1f3b-0c8e-4d4f-9b72-3e5a7c9d1f22";

    #[test]
    fn a_verdict_holds_for_its_flow_and_uuid_only() {
        let m = EventVerdicts::new(8);
        let push = Flow {
            owner: "inside",
            recipient: "partner",
        };
        let back = Flow {
            owner: "partner",
            recipient: "inside",
        };
        m.remember(push, A, true);
        assert_eq!(m.recall(push, A), Some(true));
        assert_eq!(m.recall(push, &A.to_uppercase()), Some(true));
        assert_eq!(m.recall(back, A), None);
        assert_eq!(m.recall(push, B), None);
        m.remember(push, A, false);
        assert_eq!(m.recall(push, A), Some(false), "the last verdict counts");
        m.remember(push, "not-a-uuid", true);
        assert_eq!(m.len(), 1);
        m.clear();
        assert_eq!(m.recall(push, A), None);
    }

    #[test]
    fn the_oldest_verdicts_are_forgotten_first() {
        let m = EventVerdicts::new(2);
        let f = Flow {
            owner: "a",
            recipient: "b",
        };
        let uuids = [A, B, "7b3e2a4c-1d9f-4e5a-8c83-4f6b8d0e2a33"];
        for u in uuids {
            m.remember(f, u, true);
        }
        assert_eq!(m.len(), 2);
        assert_eq!(m.recall(f, uuids[0]), None);
        assert_eq!(m.recall(f, uuids[2]), Some(true));
    }
}

//! When prompt evolution is due: the one schedule `evolve`, the inline step
//! after `rate` and `status` all read.

use serde::Serialize;

/// The evolution schedule: due every `every` rated samples, from
/// `min_samples` on, once per trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EvolutionSchedule {
    /// Evolve every this many rated samples (at least 1; the config checks it).
    pub every: u64,
    /// No evolution before this many rated samples.
    pub min_samples: u64,
}

impl EvolutionSchedule {
    /// The trigger (a multiple of `every`) an evolution is due for with
    /// `samples` rated samples, when the highest trigger already recorded
    /// is `last`; `None` when nothing is due.
    pub fn due_trigger(&self, samples: u64, last: Option<u64>) -> Option<u64> {
        let every = self.every.max(1);
        if samples < self.min_samples {
            return None;
        }
        let trigger = samples / every * every;
        (trigger >= every && last.is_none_or(|l| trigger > l)).then_some(trigger)
    }

    /// The rated-sample count at which the next evolution is due, after the
    /// highest recorded trigger `last`.
    pub fn next_due(&self, last: Option<u64>) -> u64 {
        let every = self.every.max(1);
        last.map_or(every, |l| (l / every + 1) * every)
            .max(self.min_samples)
    }

    /// The trigger a forced evolution records: the sample count, but past
    /// every recorded trigger so that it is never taken already.
    pub fn forced_trigger(&self, samples: u64, last: Option<u64>) -> u64 {
        samples.max(last.map_or(0, |l| l + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_and_next_due_agree() {
        for (every, min_samples) in [(10, 5), (10, 15), (3, 0), (1, 1)] {
            let s = EvolutionSchedule { every, min_samples };
            let mut last = None;
            for samples in 0..60 {
                let due = s.due_trigger(samples, last);
                assert_eq!(
                    due.is_some(),
                    samples >= s.next_due(last),
                    "every {every}, min {min_samples}, samples {samples}, last {last:?}"
                );
                if due.is_some() {
                    last = due;
                }
            }
        }
    }

    #[test]
    fn a_trigger_is_due_once() {
        let s = EvolutionSchedule {
            every: 10,
            min_samples: 5,
        };
        assert_eq!(s.due_trigger(9, None), None);
        assert_eq!(s.due_trigger(10, None), Some(10));
        assert_eq!(s.due_trigger(14, Some(10)), None);
        assert_eq!(s.next_due(Some(10)), 20);
        assert_eq!(s.forced_trigger(4, Some(10)), 11);
    }
}

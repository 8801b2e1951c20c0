//! Waits between status polls of an async job (Leonardo generations,
//! Replicate predictions), bounded by the render's deadline and cancellable.

use std::time::Duration;

/// Waits between status polls of an async job: starts at `first`, grows by
/// half each time up to four times `first`, and stops at the deadline.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    next: Duration,
    cap: Duration,
    deadline: tokio::time::Instant,
}

/// Why waiting for a job stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The designer cancelled (Ctrl-C).
    Cancelled,
    /// The overall deadline passed.
    TimedOut,
}

impl PollSchedule {
    /// A schedule that gives up `timeout` from now.
    pub fn new(first: Duration, timeout: Duration) -> Self {
        PollSchedule {
            next: first,
            cap: first * 4,
            deadline: tokio::time::Instant::now() + timeout,
        }
    }

    /// Sleeps until the next poll.
    ///
    /// # Errors
    /// [`WaitEnd`] when cancelled or when the deadline comes first.
    pub async fn wait(
        &mut self,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> std::result::Result<(), WaitEnd> {
        let now = tokio::time::Instant::now();
        if now >= self.deadline {
            return Err(WaitEnd::TimedOut);
        }
        let until = (now + self.next).min(self.deadline);
        self.next = (self.next.mul_f64(1.5)).min(self.cap);
        tokio::select! {
            () = cancel.cancelled() => Err(WaitEnd::Cancelled),
            () = tokio::time::sleep_until(until) => Ok(()),
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        tokio::time::Instant::now() >= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[tokio::test(start_paused = true)]
    async fn poll_waits_grow_to_four_times_the_first_and_stop_at_the_deadline() {
        let cancel = tokio_util::sync::CancellationToken::new();
        let start = tokio::time::Instant::now();
        let mut schedule = PollSchedule::new(Duration::from_secs(2), Duration::from_secs(30));
        let mut marks = Vec::new();
        while schedule.wait(&cancel).await.is_ok() {
            marks.push(start.elapsed().as_secs_f64());
        }
        let gaps: Vec<f64> = marks.windows(2).map(|w| w[1] - w[0]).collect();
        assert!((marks[0] - 2.0).abs() < 1e-6, "{marks:?}");
        assert!(
            (gaps[0] - 3.0).abs() < 1e-6 && (gaps[1] - 4.5).abs() < 1e-6,
            "{gaps:?}"
        );
        assert!(gaps.iter().all(|g| *g <= 8.0 + 1e-6), "{gaps:?}");
        assert!((marks.last().unwrap() - 30.0).abs() < 1e-6, "{marks:?}");
        cancel.cancel();
        let mut again = PollSchedule::new(Duration::from_secs(2), Duration::from_secs(30));
        assert_eq!(again.wait(&cancel).await, Err(WaitEnd::Cancelled));
    }
}

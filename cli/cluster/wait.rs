//! The one way kfctl waits on the cluster: ask, and ask again every so often, until the answer
//! is final or the deadline comes. Every wait has a deadline and says what it waited on
//! (kube-rs's `await_condition` has none; its callers wrap it in a timeout, as here).

use std::time::Duration;

use tokio::time::Instant;

/// What one look at the cluster found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T, P> {
    /// The wait is over, with this answer (which may itself be an error).
    Ready(T),
    /// Not yet; what was seen, returned if the deadline comes first.
    Pending(P),
}

impl Poll<(), ()> {
    /// Ready when `done`, else pending: for waits whose state lives outside the look.
    pub fn when(done: bool) -> Self {
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending(())
        }
    }
}

/// Calls `look` (with the attempt's number, from 1) until it is [`Poll::Ready`], pausing
/// `every` between calls, never past `deadline`: a wait whose pause would end after the deadline
/// pauses until the deadline and looks one last time. Returns the ready answer, or what the
/// last look saw when the deadline came first.
pub async fn until<T, P>(
    deadline: Instant,
    every: Duration,
    mut look: impl AsyncFnMut(u32) -> Poll<T, P>,
) -> Result<T, P> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match look(attempt).await {
            Poll::Ready(answer) => return Ok(answer),
            Poll::Pending(seen) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(seen);
                }
                tokio::time::sleep(every.min(deadline - now)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_until_ready() {
        let started = Instant::now();
        let got = until(
            started + Duration::from_secs(60),
            Duration::from_secs(1),
            async |n| {
                if n == 3 {
                    Poll::Ready(n)
                } else {
                    Poll::Pending(n)
                }
            },
        )
        .await;
        assert_eq!(got, Ok(3));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn looks_a_last_time_at_the_deadline_and_returns_what_it_saw() {
        let started = Instant::now();
        let got: Result<(), u32> = until(
            started + Duration::from_millis(2500),
            Duration::from_secs(1),
            async |n| Poll::Pending(n),
        )
        .await;
        // At 0s, 1s, 2s and, the last, at the deadline.
        assert_eq!(got, Err(4));
        assert_eq!(started.elapsed(), Duration::from_millis(2500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_past_looks_once() {
        let mut looks = 0;
        let got: Result<(), ()> = until(Instant::now(), Duration::from_secs(1), async |_| {
            looks += 1;
            Poll::Pending(())
        })
        .await;
        assert_eq!((got, looks), (Err(()), 1));
    }
}

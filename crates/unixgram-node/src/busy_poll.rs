//! Busy polling: how long a wakeup goes on reading, with nothing arriving, while JS waits for
//! data, before the loop goes back to sleep in `epoll_wait` (`watcher::busy_poll` spins; this
//! decides for how long). Off, a fixed window, or an adaptive one that learns from how long
//! JS waited after earlier wakeups, as KVM's halt polling does.
//!
//! An adaptive window spins only while a reply is awaited: when the socket sent a datagram
//! since the last batch it handed over. A socket that only receives (a log or metrics sink)
//! never spins, so under a constant load it reads the big batches a sleep lets queue up
//! instead of one datagram per spin, and when its data is rare it costs nothing.
//!
//! An adaptive window that is off probes now and then: one wait for a reply in
//! `PROBE_ONE_IN`, drawn at random, spins the whole window. Where wakeups are slow, two
//! peers that do not spin each wait the other's wakeup, longer than the window, and never
//! learn that replies would come quickly if both spun; a probe of each at the same time
//! shows it, and both then keep spinning. A probe that catches nothing ends at once.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use napi_derive::napi;

/// The longest busy-poll window a socket takes, in microseconds (`setBusyPoll`).
#[napi]
pub const BUSY_POLL_MAX_MICROS: u32 = 1_000;

/// The longest window of adaptive busy polling, in microseconds: a wait longer than this is
/// left to the loop's sleep.
#[napi]
pub const BUSY_POLL_ADAPTIVE_MICROS: u32 = 50;

/// The shortest adaptive window: below it, spinning is not worth its start.
const ADAPTIVE_MIN: Duration = Duration::from_micros(5);

/// An adaptive window that is off probes on one wait for a reply in this many.
const PROBE_ONE_IN: u32 = 8;

/// Sockets made so far, mixed into each one's probe draws with the process id, so that the
/// two ends of a round trip draw apart.
static SOCKETS: AtomicU32 = AtomicU32::new(0);

/// A socket's busy polling.
#[derive(Debug, Default)]
pub(crate) enum BusyPoll {
    /// Never spin: the loop sleeps once a wakeup has handed over what was queued.
    #[default]
    Off,
    /// Spin until nothing has arrived for this long.
    Fixed(Duration),
    /// Spin for a window learnt from how long JS waited after earlier wakeups.
    Adaptive(Adaptive),
}

impl BusyPoll {
    /// Off for 0 µs; else a fixed window, or an adaptive one of at most `micros`.
    pub(crate) fn new(micros: u32, adaptive: bool) -> Self {
        let limit = Duration::from_micros(u64::from(micros));
        match (micros, adaptive) {
            (0, _) => Self::Off,
            (_, false) => Self::Fixed(limit),
            (_, true) => {
                let n = SOCKETS.fetch_add(1, Ordering::Relaxed);
                Self::Adaptive(Adaptive::new(limit, probe_seed(std::process::id(), n)))
            }
        }
    }

    /// How long the wakeup ending now spins with nothing arriving (possibly zero). `None`:
    /// off, with nothing to learn either. An adaptive window is zero unless a reply is
    /// awaited.
    pub(crate) fn window(&self) -> Option<Duration> {
        match self {
            Self::Off => None,
            Self::Fixed(window) => Some(*window),
            Self::Adaptive(adaptive) if adaptive.sent.get() => Some(adaptive.window),
            Self::Adaptive(_) => Some(Duration::ZERO),
        }
    }

    /// The socket sent a datagram: a reply may be on its way.
    pub(crate) fn sent(&self) {
        if let Self::Adaptive(adaptive) = self {
            adaptive.sent.set(true);
        }
    }

    /// A batch is handed over to JS: what JS sends from here on is what it awaits a reply to.
    pub(crate) fn delivering(&self) {
        if let Self::Adaptive(adaptive) = self {
            adaptive.sent.set(false);
        }
    }

    /// A wakeup from the loop read data at the time `now` gives (read only when an adaptive
    /// window learns from this wakeup, so the others cost no clock read).
    pub(crate) fn woke(&mut self, now: impl FnOnce() -> Instant) {
        if let Self::Adaptive(adaptive) = self {
            adaptive.woke(now);
        }
    }

    /// The wakeup ended, the last data handed over at `since`; `waiting`: JS still waits.
    /// An adaptive window learns only from waits for a reply.
    pub(crate) fn sleeping(&mut self, since: Instant, waiting: bool) {
        if let Self::Adaptive(adaptive) = self {
            adaptive.waiting_since = (waiting && adaptive.sent.get()).then_some(since);
        }
    }
}

/// The first probe draw of socket `n` of process `pid`: the two mixed (a murmur3-style
/// finaliser) so that neighbouring pids, as the two ends of a round trip often have, draw
/// apart; never zero (xorshift's one fixed point).
fn probe_seed(pid: u32, n: u32) -> u32 {
    let mut z = pid.wrapping_mul(0x9e37_79b9) ^ n.wrapping_mul(0x85eb_ca6b);
    z ^= z >> 16;
    z = z.wrapping_mul(0x7feb_352d);
    z ^= z >> 15;
    z.max(1)
}

/// The adaptive window. After a wakeup, JS waited some time for its next datagram (spinning
/// for part of it, perhaps). A wait within `max` would have been caught by spinning twice as
/// long: the window becomes that. A longer wait halves the window, down to off, so a socket
/// whose data comes rarely, or long after a wakeup (from a timer, say), stops spinning after
/// a few wakeups and costs little: off, it spins `max` on one wait in `PROBE_ONE_IN` (a
/// probe), and a probe that waits longer is off again at once.
#[derive(Debug)]
pub(crate) struct Adaptive {
    max: Duration,
    window: Duration,
    /// The window is a probe's: if it catches nothing, it is off again.
    probing: bool,
    /// The state of the probe draws (xorshift32, never zero).
    draws: u32,
    /// When the last wakeup ended with JS waiting for a reply.
    waiting_since: Option<Instant>,
    /// The socket sent since the last batch was handed over: a reply is awaited.
    sent: Cell<bool>,
}

impl Adaptive {
    fn new(max: Duration, seed: u32) -> Self {
        Self {
            max,
            window: Duration::ZERO,
            probing: false,
            draws: seed.max(1),
            waiting_since: None,
            sent: Cell::new(false),
        }
    }

    fn woke(&mut self, now: impl FnOnce() -> Instant) {
        let Some(since) = self.waiting_since.take() else {
            return;
        };
        let waited = now().saturating_duration_since(since);
        let probed = std::mem::take(&mut self.probing);
        self.window = if waited <= self.max {
            (waited * 2).clamp(ADAPTIVE_MIN.min(self.max), self.max)
        } else if !probed && self.window / 2 >= ADAPTIVE_MIN {
            self.window / 2
        } else if !probed && self.draw() {
            self.probing = true;
            self.max
        } else {
            Duration::ZERO
        };
    }

    /// Whether the next wait probes: true once in `PROBE_ONE_IN` draws.
    fn draw(&mut self) -> bool {
        let mut x = self.draws;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.draws = x;
        x % PROBE_ONE_IN == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_micros(BUSY_POLL_ADAPTIVE_MICROS as u64);

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// One wakeup that ends with JS waiting for the reply to what it sent, and the next that
    /// reads after `wait`.
    fn cycle(poll: &mut BusyPoll, at: Instant, wait: Duration) -> Instant {
        poll.delivering();
        poll.sent();
        poll.sleeping(at, true);
        let next = at + wait;
        poll.woke(|| next);
        next
    }

    #[test]
    fn off_and_fixed_do_not_learn() {
        let mut off = BusyPoll::new(0, true);
        let mut fixed = BusyPoll::new(30, false);
        let t = Instant::now();
        for poll in [&mut off, &mut fixed] {
            cycle(poll, t, us(10));
            cycle(poll, t, us(10_000));
        }
        assert_eq!(off.window(), None);
        assert_eq!(fixed.window(), Some(us(30)));
    }

    #[test]
    fn adaptive_starts_off_and_learns_a_quick_reply() {
        let mut poll = BusyPoll::new(BUSY_POLL_ADAPTIVE_MICROS, true);
        assert_eq!(poll.window(), Some(Duration::ZERO));
        let t = cycle(&mut poll, Instant::now(), us(12));
        assert_eq!(poll.window(), Some(us(24)));
        // A slower reply still within the limit: the window covers it, capped at the limit.
        cycle(&mut poll, t, us(40));
        assert_eq!(poll.window(), Some(MAX));
    }

    /// An adaptive window of the default limit whose probe draws start from `seed`.
    fn seeded(seed: u32) -> BusyPoll {
        BusyPoll::Adaptive(Adaptive::new(MAX, seed))
    }

    fn micros(poll: &BusyPoll) -> u128 {
        poll.window().expect("adaptive").as_micros()
    }

    #[test]
    fn adaptive_backs_off_to_nothing_when_waits_are_long() {
        for seed in [1, 7, 0xdead_beef] {
            let mut poll = seeded(seed);
            let mut t = cycle(&mut poll, Instant::now(), us(30));
            assert_eq!(poll.window(), Some(MAX));
            let mut windows = Vec::new();
            for _ in 0..3 {
                t = cycle(&mut poll, t, us(10_000));
                windows.push(micros(&poll));
            }
            assert_eq!(windows, [25, 12, 6]);
            // Off from here, but for probes: each spins the whole window once, and a probe
            // that catches nothing is off again at once.
            let mut last = 0;
            for _ in 0..200 {
                t = cycle(&mut poll, t, us(10_000));
                let now = micros(&poll);
                assert!(now == 0 || now == MAX.as_micros(), "{now} µs");
                assert!(!(now > 0 && last > 0), "two probes in a row");
                last = now;
            }
        }
    }

    #[test]
    fn adaptive_off_probes_one_wait_in_probe_one_in() {
        let mut poll = seeded(12_345);
        let mut t = Instant::now();
        let (mut probes, waits) = (0, 8_000);
        for _ in 0..waits {
            t = cycle(&mut poll, t, us(10_000));
            probes += usize::from(micros(&poll) > 0);
        }
        let expected = waits / PROBE_ONE_IN as usize;
        assert!(
            probes > expected * 7 / 10 && probes < expected * 13 / 10,
            "{probes} probes in {waits} waits"
        );
    }

    #[test]
    fn a_probe_that_catches_a_reply_is_kept_as_a_learnt_window() {
        let mut poll = seeded(99);
        let mut t = Instant::now();
        let mut waits = 0;
        while micros(&poll) == 0 {
            t = cycle(&mut poll, t, us(10_000));
            waits += 1;
            assert!(waits < 200, "no probe in 200 waits");
        }
        // The probe's wait is short: both ends spun. The window is what that wait teaches,
        // and a long wait later halves it as any learnt window (it is no probe any more).
        t = cycle(&mut poll, t, us(9));
        assert_eq!(micros(&poll), 18);
        cycle(&mut poll, t, us(10_000));
        assert_eq!(micros(&poll), 9);
    }

    #[test]
    fn sockets_draw_apart() {
        let draws = |seed: u32| {
            let mut a = Adaptive::new(MAX, seed);
            (0..64).map(|_| a.draw()).collect::<Vec<_>>()
        };
        // The first socket of neighbouring processes, and two sockets of one process.
        for (a, b) in [
            ((1000, 0), (1001, 0)),
            ((4242, 0), (4242, 1)),
            ((0, 0), (1, 0)),
        ] {
            assert_ne!(
                draws(probe_seed(a.0, a.1)),
                draws(probe_seed(b.0, b.1)),
                "{a:?} and {b:?}"
            );
        }
        let (a, b) = (BusyPoll::new(50, true), BusyPoll::new(50, true));
        let seed = |poll: &BusyPoll| match poll {
            BusyPoll::Adaptive(a) => a.draws,
            _ => unreachable!(),
        };
        assert_ne!(seed(&a), seed(&b));
    }

    #[test]
    fn adaptive_learns_nothing_when_js_did_not_wait() {
        let mut poll = BusyPoll::new(BUSY_POLL_ADAPTIVE_MICROS, true);
        let t = cycle(&mut poll, Instant::now(), us(10));
        // Nobody waited after this wakeup: the next one, however late, changes nothing.
        poll.sleeping(t, false);
        poll.woke(|| t + us(50_000));
        assert_eq!(poll.window(), Some(us(20)));
        // And a wakeup is learnt from once.
        poll.sleeping(t, true);
        poll.woke(|| t + us(2));
        poll.woke(|| t + us(50_000));
        assert_eq!(poll.window(), Some(us(5)));
    }

    #[test]
    fn adaptive_spins_only_while_a_reply_is_awaited() {
        let mut poll = BusyPoll::new(BUSY_POLL_ADAPTIVE_MICROS, true);
        let t = cycle(&mut poll, Instant::now(), us(10));
        assert_eq!(poll.window(), Some(us(20)));
        // A batch JS answers nothing to: no spin, and no clock read for what comes next.
        poll.delivering();
        assert_eq!(poll.window(), Some(Duration::ZERO));
        poll.sleeping(t, true);
        poll.woke(|| unreachable!("a receive-only wakeup reads no clock"));
        // The learnt window comes back with the next send.
        poll.sent();
        assert_eq!(poll.window(), Some(us(20)));
    }

    #[test]
    fn a_socket_that_only_receives_never_spins() {
        let mut poll = BusyPoll::new(BUSY_POLL_ADAPTIVE_MICROS, true);
        let mut t = Instant::now();
        for _ in 0..10 {
            poll.delivering();
            poll.sleeping(t, true);
            t += us(1);
            poll.woke(|| t);
        }
        assert_eq!(poll.window(), Some(Duration::ZERO));
    }

    #[test]
    fn fixed_spins_whether_or_not_the_socket_sent() {
        let poll = BusyPoll::new(30, false);
        poll.delivering();
        assert_eq!(poll.window(), Some(us(30)));
    }

    #[test]
    fn adaptive_limit_below_the_minimum_is_the_limit() {
        let mut poll = BusyPoll::new(3, true);
        cycle(&mut poll, Instant::now(), us(1));
        assert_eq!(poll.window(), Some(us(3)));
    }
}

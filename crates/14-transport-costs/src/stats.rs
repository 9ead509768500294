//! From round-trip samples to figures: the median, the 99th percentile, the
//! spread of the rounds' medians, requests per second, the ratio to UDP;
//! and the table that shows them.

use std::fmt::Write;

/// The figures of one transport at one request size.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The transport's name, as the table shows it.
    pub transport: &'static str,
    /// The request's size in bytes.
    pub size: usize,
    /// Round trips timed.
    pub count: usize,
    /// The median round trip, in microseconds: half were faster.
    pub median: f64,
    /// The 99th percentile, in microseconds: one in a hundred was slower.
    pub p99: f64,
    /// The lowest and highest of the rounds' medians, in microseconds: how
    /// much the figure moved from round to round.
    pub spread: (f64, f64),
    /// Requests per second, one at a time: the count over the time taken.
    pub per_second: f64,
}

/// Summarises every (transport, size)'s samples (nanoseconds) and its
/// rounds' medians.
pub fn summarise(
    samples: &[((&'static str, usize), Vec<u64>)],
    per_round: &[((&'static str, usize), Vec<u64>)],
) -> Vec<Figures> {
    let mut figures = Vec::new();
    for ((transport, size), taken) in samples {
        let mut sorted = taken.clone();
        sorted.sort_unstable();
        let at = |share: f64| nearest_rank(&sorted, share) as f64 / 1000.0;
        let rounds = per_round
            .iter()
            .find(|(key, _)| key == &(*transport, *size))
            .map(|(_, medians)| medians.clone())
            .unwrap_or_default();
        let low = rounds.iter().min().copied().unwrap_or_default() as f64 / 1000.0;
        let high = rounds.iter().max().copied().unwrap_or_default() as f64 / 1000.0;
        let total: u64 = sorted.iter().sum();
        figures.push(Figures {
            transport,
            size: *size,
            count: sorted.len(),
            median: at(0.5),
            p99: at(0.99),
            spread: (low, high),
            per_second: sorted.len() as f64 / (total.max(1) as f64 / 1e9),
        });
    }
    figures
}

/// `32 B`, `1 KiB`, `64 KiB`.
pub fn size_name(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The sample below which `share` of the sorted samples lie (the nearest
/// rank: the median is `share` 0.5, p99 is 0.99). One definition for every
/// figure, so that a round's median and the overall one agree.
pub fn nearest_rank(sorted: &[u64], share: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len());
    sorted[index - 1]
}

/// The median of a list of figures (none: 0).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The table: one line per transport and size, then the bulk throughput.
pub fn table(figures: &[Figures], bulk: &[(&str, Vec<f64>)]) -> String {
    let mut text = String::new();
    // Narrow enough for a terminal of 80 columns, and for the book.
    let _ = writeln!(
        text,
        "round trip in us: median, p99, lowest-highest median of a round"
    );
    let _ = writeln!(
        text,
        "{:<19} {:>6} {:>8} {:>8} {:>15} {:>7} {:>7}",
        "transport", "size", "median", "p99", "rounds", "req/s", "x udp"
    );
    for figure in figures {
        let udp = figures
            .iter()
            .find(|other| other.transport == "udp" && other.size == figure.size);
        let ratio = match udp {
            Some(udp) => format!("{:.2}", figure.median / udp.median),
            None => "-".to_owned(),
        };
        let rounds = format!("{:.1}-{:.1}", figure.spread.0, figure.spread.1);
        let _ = writeln!(
            text,
            "{:<19} {:>6} {:>8.1} {:>8.1} {:>15} {:>7.0} {:>7}",
            figure.transport,
            size_name(figure.size),
            figure.median,
            figure.p99,
            rounds,
            figure.per_second,
            ratio
        );
    }
    for (transport, rates) in bulk {
        let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rates.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            text,
            "bulk, {transport}: {:.0} MB/s (rounds {low:.0} - {high:.0})",
            median(rates)
        );
    }
    for size in [32, 1024] {
        let (Some(rust), Some(c)) = (
            find(figures, "udp", size),
            find(figures, "udp, C client", size),
        ) else {
            continue;
        };
        let _ = writeln!(
            text,
            "udp at {}, median: this client {:.2} us, the C client {:.2} us: {:+.1} %",
            size_name(size),
            rust.median,
            c.median,
            (rust.median / c.median - 1.0) * 100.0
        );
    }
    text
}

/// The figures of `transport` at `size`.
pub fn find<'a>(figures: &'a [Figures], transport: &str, size: usize) -> Option<&'a Figures> {
    figures
        .iter()
        .find(|figure| figure.transport == transport && figure.size == size)
}

/// The machine and the date, for the table and the chart: the CPU model,
/// how many CPUs, the kernel, the day (UTC).
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    // Every CPU of the machine, not only those this process may use.
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| release.trim().to_owned())
        .unwrap_or_default();
    let day = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    format!("measured on {cpu}, {cpus} CPUs, Linux {kernel}, {day}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_and_p99_are_read_from_the_sorted_samples() {
        // 1..=100 microseconds, shuffled by reversing: the median is the
        // 50th, the p99 the 99th.
        let samples: Vec<u64> = (1..=100).rev().map(|us| us * 1000).collect();
        let figures = summarise(
            &[(("udp", 32), samples)],
            &[(("udp", 32), vec![40_000, 60_000])],
        );
        let udp = &figures[0];
        assert_eq!((udp.median, udp.p99), (50.0, 99.0));
        assert_eq!(udp.spread, (40.0, 60.0));
        assert_eq!(udp.count, 100);
        // 100 requests in 5,050 us in all.
        assert!(
            (udp.per_second - 100.0 / 0.00505).abs() < 1.0,
            "{}",
            udp.per_second
        );
    }

    #[test]
    fn the_table_gives_ratios_to_udp_at_the_same_size_only() {
        let figures = summarise(
            &[
                (("udp", 32), vec![10_000]),
                (("unix stream", 32), vec![5_000]),
                (("unix stream", 65_536), vec![20_000]),
            ],
            &[],
        );
        let table = table(&figures, &[("tcp", vec![100.0, 300.0, 200.0])]);
        let row = |name: &str, size: &str| {
            table
                .lines()
                .find(|line| line.starts_with(&format!("{name:<19} {size:>6}")))
                .map(str::to_owned)
                .unwrap_or_default()
        };
        assert!(row("unix stream", "32 B").ends_with("0.50"), "{table}");
        assert!(row("unix stream", "64 KiB").ends_with('-'), "{table}");
        assert!(
            table.contains("bulk, tcp: 200 MB/s (rounds 100 - 300)"),
            "{table}"
        );
        assert_eq!(size_name(1024), "1 KiB");
        assert_eq!(size_name(32), "32 B");
    }
}

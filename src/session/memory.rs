//! The memory pool of every session: DataFusion's greedy pool (with the five largest consumers
//! named in errors), except that `RepartitionExec` is never refused memory.
//!
//! Why: under a memory limit, DataFusion 55's `RepartitionExec` writes the batches it cannot
//! reserve memory for to a spill pool, and when two of its inputs spill at once the reader can
//! wait forever on the wrong file: the query hangs with every thread parked, neither finishing
//! nor failing (apache/datafusion#24883, fixed by apache/datafusion#24891 after 55.2). That
//! happened here with the indicators job at scale N. Granting the repartition buffers their
//! (small, transient) memory means that path is never taken; the operators that can spill
//! properly (sorts, aggregations) then see less free memory and spill earlier. Remove this
//! wrapper once the engine is on a DataFusion release with the fix.

use std::fmt;

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// Wraps `P`, granting every `RepartitionExec` reservation; see the module documentation.
#[derive(Debug)]
pub struct RepartitionNeverSpills<P> {
    inner: P,
}

impl<P: MemoryPool> RepartitionNeverSpills<P> {
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

fn is_repartition(reservation: &MemoryReservation) -> bool {
    reservation.consumer().name().starts_with("RepartitionExec")
}

impl<P: MemoryPool> fmt::Display for RepartitionNeverSpills<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (repartition buffers always granted)", self.inner)
    }
}

impl<P: MemoryPool> MemoryPool for RepartitionNeverSpills<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional)
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if is_repartition(reservation) {
            self.inner.grow(reservation, additional);
            Ok(())
        } else {
            self.inner.try_grow(reservation, additional)
        }
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use datafusion::arrow::array::AsArray;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    use super::*;
    use crate::session::{SessionOptions, base_session};

    #[test]
    fn repartition_is_granted_others_are_limited() {
        let pool: Arc<dyn MemoryPool> =
            Arc::new(RepartitionNeverSpills::new(GreedyMemoryPool::new(100)));
        let repartition = MemoryConsumer::new("RepartitionExec[0]").register(&pool);
        let sort = MemoryConsumer::new("ExternalSorter[0]").register(&pool);
        repartition
            .try_grow(150)
            .expect("repartition is never refused");
        assert_eq!(pool.reserved(), 150);
        assert!(
            sort.try_grow(1).is_err(),
            "the limit still holds for others"
        );
        repartition.shrink(150);
        sort.try_grow(100)
            .expect("memory given back is available again");
    }

    /// The query of apache/datafusion#24883, which hangs under a small memory limit on
    /// DataFusion 55.2 with its own pool (this test then fails on its timeout). Each run must
    /// finish: with the 13 groups, or with an error saying memory ran out (4 MB is less than
    /// the repartition buffers may take), never by hanging.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_distinct_under_a_small_limit_finishes() {
        let options = SessionOptions {
            memory_limit: 4 * 1024 * 1024,
            target_partitions: Some(2),
            batch_size: 64,
            ..Default::default()
        };
        let ctx = base_session(&options).unwrap();
        ctx.sql(
            "CREATE TABLE t AS SELECT v % 13 AS g, md5(CAST(v % 337 AS VARCHAR)) AS trace_id \
             FROM generate_series(1, 40000) AS s(v)",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
        let mut answered = 0;
        for attempt in 0..8 {
            let run = async {
                ctx.sql("SELECT g, count(DISTINCT trace_id) AS n FROM t GROUP BY g")
                    .await?
                    .collect()
                    .await
            };
            let result = tokio::time::timeout(Duration::from_secs(60), run)
                .await
                .unwrap_or_else(|_| panic!("attempt {attempt} hung"));
            let batches = match result {
                Ok(batches) => batches,
                Err(e) if e.to_string().contains("Resources exhausted") => continue,
                Err(e) => panic!("attempt {attempt}: {e}"),
            };
            // 13 and 337 are coprime and 40,000 > 13 * 337, so each group sees all 337 residues.
            let counts: Vec<i64> = batches
                .iter()
                .flat_map(|b| {
                    b.column(1)
                        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                        .values()
                        .to_vec()
                })
                .collect();
            assert_eq!(counts, vec![337; 13], "attempt {attempt}");
            answered += 1;
        }
        assert!(answered > 0, "every attempt ran out of memory");
    }
}

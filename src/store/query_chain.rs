//! Rows handed to a Delta write as queries run one after another: each chain of queries is one
//! partition of a streaming table, and a query starts when the one before it has given all its
//! rows, so only one of a chain's sorts holds memory at a time. Ingest writes its sorted marks
//! this way, and the summary build its chunks of schools.
//!
//! Handed the queries themselves, the writer's planner would drop their `ORDER BY` (nothing
//! above the sort asks for the order) and the files would not be sorted; run here, each query
//! keeps its own plan.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::{StreamExt, TryStreamExt};

/// Registers `name` in `ctx` as a table with one partition per chain of `chains` (each query
/// run in turn, in the order given), and returns the plan that reads it, for
/// [`crate::store::write::PlannedWrite::run`]. The table can be read once. Every query must
/// give the schema of the first one.
pub async fn chained_rows(
    ctx: &SessionContext,
    name: &str,
    chains: Vec<Vec<DataFrame>>,
) -> Result<LogicalPlan> {
    let first = chains
        .iter()
        .flatten()
        .next()
        .ok_or_else(|| DataFusionError::Internal(format!("{name}: no query to write")))?;
    let schema = first.clone().create_physical_plan().await?.schema();
    let partitions: Vec<Arc<dyn PartitionStream>> = chains
        .into_iter()
        .map(|queries| {
            Arc::new(QueryChain {
                schema: schema.clone(),
                queries: Mutex::new(Some(queries)),
            }) as _
        })
        .collect();
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(StreamingTable::try_new(schema, partitions)?))?;
    Ok(ctx
        .sql(&format!("SELECT * FROM {name}"))
        .await?
        .into_unoptimized_plan())
}

/// Queries run one after another as one stream, offered as a table's partition; it can be
/// read once.
struct QueryChain {
    schema: SchemaRef,
    queries: Mutex<Option<Vec<DataFrame>>>,
}

impl std::fmt::Debug for QueryChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryChain")
    }
}

impl PartitionStream for QueryChain {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.queries.lock().expect("not poisoned").take() {
            Some(queries) => {
                let batches = futures::stream::iter(queries)
                    .then(|query| query.execute_stream())
                    .try_flatten();
                Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
            }
            // Never an empty stream: a second read would silently write nothing.
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(DataFusionError::Internal("rows to write read twice".into()))
                }),
            )),
        }
    }
}

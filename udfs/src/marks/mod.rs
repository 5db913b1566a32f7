//! Functions of one register mark's code: its category, its absence reason and the predicates the
//! DfE measures are built from. Every one maps NULL, `-` and unknown codes to NULL.
//!
//! All share [`CodeFunction`]: the code is looked up by its bytes in the table of
//! [`crate::codes`], then mapped through the function's own table from code to output. Each
//! function's file holds only what differs: its name, its output and its documentation.

mod absence_reason;
mod attendance_category;
mod is_absence;
mod is_attendance;
mod is_authorised_absence;
mod is_possible_session;
mod is_unauthorised_absence;

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, lit, when,
};

use crate::codes::{CODES, CodeInfo, MAX_CODE_LEN, code_id, slot_table};
use crate::kernel::{NULL_SLOT, ShortStrings, SlotOutput, code_signature};

pub use absence_reason::AbsenceReason;
pub use attendance_category::AttendanceCategory;
pub use is_absence::IsAbsence;
pub use is_attendance::IsAttendance;
pub use is_authorised_absence::IsAuthorisedAbsence;
pub use is_possible_session::IsPossibleSession;
pub use is_unauthorised_absence::IsUnauthorisedAbsence;

/// The documentation section of the functions of this crate.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Attendance Functions",
    description: Some("Functions for school attendance registers in England (DfE codes)."),
};

/// What distinguishes one code function from another.
pub trait CodeFunctionSpec:
    Debug + Default + PartialEq + Eq + Hash + Send + Sync + 'static
{
    /// The SQL name.
    const NAME: &'static str;
    /// What the function's slots mean; a `static` in the function's file.
    fn output() -> &'static SlotOutput;
    /// The slot of a code: `0`/`1` for a predicate, a label's index otherwise; `None` for NULL.
    fn slot(info: &CodeInfo) -> Option<u8>;
    fn documentation() -> &'static Documentation;
}

/// A scalar function of one code argument (any string type or string dictionary), evaluated by
/// table lookup.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CodeFunction<S> {
    signature: Signature,
    /// [`CodeId`](crate::codes::CodeId) -> slot of this function.
    slots: [u8; CODES.len()],
    /// Rewrite calls into built-in `CASE`/`IN` expressions at plan time (see [`Self::simplify`]).
    rewrite_to_builtin: bool,
    spec: PhantomData<S>,
}

impl<S: CodeFunctionSpec> Default for CodeFunction<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: CodeFunctionSpec> CodeFunction<S> {
    pub fn new() -> Self {
        Self {
            signature: code_signature(),
            slots: slot_table(S::slot),
            rewrite_to_builtin: false,
            spec: PhantomData,
        }
    }

    /// Makes the planner replace every call by the equivalent built-in expression
    /// ([`Self::builtin_expr`]), which DataFusion's simplifier then folds: in a filter,
    /// `attendance_category(code) = 'unauthorised'` becomes a boolean expression over `IN` lists
    /// (tested below with the optimized plan).
    ///
    /// Off by default, because the table lookup is faster (`benches/udfs.rs`, 10 million
    /// dictionary-encoded marks, 2 cores): `attendance_category` in a projection 15 ms against
    /// 152 ms for the `CASE`, and in `WHERE ... = 'unauthorised'` 16 ms against 91 ms for the
    /// folded `CASE`; `is_absence` in a projection 8 ms against 27 ms. Only a hand-written
    /// `WHERE code IN (...)` is a little faster than `WHERE is_absence(code)` (6.3 ms against
    /// 8.8 ms), and it differs from the function in a projection (false, not NULL, for `-`).
    pub fn with_rewrite_to_builtin(mut self, rewrite: bool) -> Self {
        self.rewrite_to_builtin = rewrite;
        self
    }

    /// [`CodeId`](crate::codes::CodeId) -> slot of this function.
    pub(crate) fn slots(&self) -> [u8; CODES.len()] {
        self.slots
    }

    pub fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(Self::new()))
    }

    fn strings(&self) -> ShortStrings<impl Fn(&[u8]) -> u8 + '_> {
        ShortStrings {
            max_len: MAX_CODE_LEN,
            slot: |bytes: &[u8]| code_id(bytes).map_or(NULL_SLOT, |id| self.slots[id as usize]),
        }
    }

    /// The built-in expression with the same result as this function on `code` (of type
    /// `code_type`), NULLs included:
    /// - a predicate: `CASE WHEN code IN (<every code>) THEN code IN (<true codes>) END`;
    /// - a label: `CASE WHEN code IN (<codes of label 1>) THEN 'label 1' WHEN ... END`.
    pub fn builtin_expr(&self, code: Expr, code_type: &DataType) -> Result<Expr> {
        let codes_where = |wanted: &dyn Fn(u8) -> bool| -> Result<Vec<Expr>> {
            CODES
                .iter()
                .zip(self.slots)
                .filter(|(_, slot)| wanted(*slot))
                .map(|(info, _)| Ok(lit(ScalarValue::from(info.code).cast_to(code_type)?)))
                .collect()
        };
        let known = |slot: u8| slot != NULL_SLOT;
        match S::output() {
            SlotOutput::Boolean => when(
                code.clone().in_list(codes_where(&known)?, false),
                code.in_list(codes_where(&|slot| slot == 1)?, false),
            )
            .end(),
            SlotOutput::Labels(labels) => {
                let mut branches = (0..NULL_SLOT)
                    .map_while(|slot| labels.label(slot).map(|label| (slot, label)))
                    .map(|(slot, label)| -> Result<Option<(Expr, Expr)>> {
                        let codes = codes_where(&|s| s == slot)?;
                        Ok((!codes.is_empty()).then(|| {
                            (
                                code.clone().in_list(codes, false),
                                lit(ScalarValue::Utf8View(Some(label.into()))),
                            )
                        }))
                    })
                    .filter_map(Result::transpose);
                let (first_when, first_then) = branches.next().expect("a label has a code")?;
                let mut builder = when(first_when, first_then);
                for branch in branches {
                    let (when, then) = branch?;
                    builder = builder.when(when, then);
                }
                builder.end()
            }
        }
    }
}

impl<S: CodeFunctionSpec> ScalarUDFImpl for CodeFunction<S> {
    fn name(&self) -> &str {
        S::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(S::output().data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [code] = args.args.as_slice() else {
            return exec_err!("{} expects 1 argument", S::NAME);
        };
        S::output().invoke(code, &self.strings())
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        if !self.rewrite_to_builtin || args.len() != 1 {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let code_type = info.get_data_type(&args[0])?;
        let [code] = <[Expr; 1]>::try_from(args).expect("one argument");
        Ok(ExprSimplifyResult::Simplified(
            self.builtin_expr(code, &code_type)?,
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(S::documentation())
    }
}

/// The scalar functions of this family.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        CodeFunction::<AttendanceCategory>::udf(),
        CodeFunction::<AbsenceReason>::udf(),
        CodeFunction::<IsPossibleSession>::udf(),
        CodeFunction::<IsAttendance>::udf(),
        CodeFunction::<IsAbsence>::udf(),
        CodeFunction::<IsAuthorisedAbsence>::udf(),
        CodeFunction::<IsUnauthorisedAbsence>::udf(),
    ]
}

/// A predicate's slot: `1` when `holds`, `0` otherwise, for every code.
pub(crate) fn predicate_slot(holds: bool) -> Option<u8> {
    Some(u8::from(holds))
}

#[cfg(test)]
pub(crate) mod test_util {
    use datafusion::arrow::array::{
        Array, ArrayRef, DictionaryArray, StringArray, StringViewArray,
    };
    use datafusion::arrow::datatypes::{Field, Int32Type};
    use datafusion::config::ConfigOptions;
    use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};
    use std::sync::Arc;

    /// Evaluates `udf` on `codes` as Utf8, Utf8View and Dictionary(Int32, Utf8) arrays and as
    /// scalars, checks all agree, and returns the Utf8 result.
    pub(crate) fn eval_codes(udf: &dyn ScalarUDFImpl, codes: &[Option<&str>]) -> ArrayRef {
        let utf8: ArrayRef = Arc::new(StringArray::from(codes.to_vec()));
        let view: ArrayRef = Arc::new(StringViewArray::from(codes.to_vec()));
        let dict: ArrayRef = Arc::new(
            codes
                .iter()
                .copied()
                .collect::<DictionaryArray<Int32Type>>(),
        );
        let results: Vec<ArrayRef> = [utf8, view, dict]
            .into_iter()
            .map(|array| invoke(udf, ColumnarValue::Array(array), codes.len()))
            .collect();
        for result in &results[1..] {
            assert_eq!(result.as_ref(), results[0].as_ref());
        }
        for (row, code) in codes.iter().enumerate() {
            let scalar = datafusion::common::ScalarValue::Utf8(code.map(str::to_string));
            let got = invoke(udf, ColumnarValue::Scalar(scalar), 1);
            assert_eq!(got.as_ref(), results[0].slice(row, 1).as_ref(), "{code:?}");
        }
        results[0].clone()
    }

    /// Creates `marks` (every code, `-`, an unknown code and NULL, as `VARCHAR`) and `dict_marks`
    /// (the same as `Dictionary(Int32, Utf8)`) in `ctx`.
    pub(crate) async fn create_code_tables(ctx: &datafusion::prelude::SessionContext) {
        let codes: Vec<String> = crate::codes::CODES
            .iter()
            .map(|info| format!("('{}')", info.code.replace('\'', "''")))
            .chain(["('-')", "('x')", "(NULL)"].map(String::from))
            .collect();
        let sql = format!(
            "CREATE TABLE marks (code VARCHAR) AS VALUES {}",
            codes.join(", ")
        );
        ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        ctx.sql("CREATE TABLE dict_marks AS SELECT arrow_cast(code, 'Dictionary(Int32, Utf8)') AS code FROM marks")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
    }

    pub(crate) fn invoke(
        udf: &dyn ScalarUDFImpl,
        arg: ColumnarValue,
        number_rows: usize,
    ) -> ArrayRef {
        let data_type = arg.data_type();
        let return_type = udf.return_type(std::slice::from_ref(&data_type)).unwrap();
        let args = ScalarFunctionArgs {
            args: vec![arg],
            arg_fields: vec![Arc::new(Field::new("code", data_type, true))],
            number_rows,
            return_field: Arc::new(Field::new(udf.name(), return_type, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        match udf.invoke_with_args(args).unwrap() {
            ColumnarValue::Array(array) => array,
            ColumnarValue::Scalar(scalar) => scalar.to_array().unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn session(rewrite: bool) -> SessionContext {
        // The functions without the analyzer rule of `filter_rewrite`, to test `simplify`.
        let ctx = SessionContext::new();
        for udf in crate::all_scalar_udfs() {
            ctx.register_udf(udf.as_ref().clone());
        }
        ctx.register_udf(ScalarUDF::from(
            CodeFunction::<AttendanceCategory>::new().with_rewrite_to_builtin(rewrite),
        ));
        ctx.register_udf(ScalarUDF::from(
            CodeFunction::<IsAbsence>::new().with_rewrite_to_builtin(rewrite),
        ));
        test_util::create_code_tables(&ctx).await;
        ctx
    }

    async fn optimized_plan(ctx: &SessionContext, sql: &str) -> String {
        let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
        plan.display_indent().to_string()
    }

    async fn results(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    const QUERIES: [&str; 6] = [
        "SELECT code, attendance_category(code), is_absence(code) FROM marks ORDER BY code",
        "SELECT code, attendance_category(code), is_absence(code) FROM dict_marks ORDER BY code",
        "SELECT code FROM marks WHERE attendance_category(code) = 'unauthorised' ORDER BY code",
        "SELECT code FROM dict_marks WHERE attendance_category(code) <> 'present' ORDER BY code",
        "SELECT code FROM marks WHERE is_absence(code) ORDER BY code",
        "SELECT code FROM dict_marks WHERE NOT is_absence(code) ORDER BY code",
    ];

    #[tokio::test]
    async fn builtin_rewrite_has_the_same_results() {
        let (udf, builtin) = (session(false).await, session(true).await);
        for sql in QUERIES {
            assert_eq!(
                results(&udf, sql).await,
                results(&builtin, sql).await,
                "{sql}"
            );
        }
    }

    #[tokio::test]
    async fn filters_become_in_lists_only_with_the_rewrite() {
        let sql = "SELECT code FROM marks WHERE attendance_category(code) = 'unauthorised'";
        let plan = optimized_plan(&session(false).await, sql).await;
        assert!(plan.contains("attendance_category(marks.code)"), "{plan}");
        let plan = optimized_plan(&session(true).await, sql).await;
        assert!(!plan.contains("attendance_category"), "{plan}");
        assert!(plan.contains("marks.code IN ("), "{plan}");

        let sql = "SELECT code FROM marks WHERE is_absence(code)";
        let plan = optimized_plan(&session(true).await, sql).await;
        assert!(!plan.contains("is_absence"), "{plan}");
        assert!(plan.contains("marks.code IN ("), "{plan}");
    }
}

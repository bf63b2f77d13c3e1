//! The codes a kernel's parameters carry to choose what it computes:
//! `unary.wgsl`'s op, `binary.wgsl`'s op and broadcast rule, `random.wgsl`'s
//! distribution, the fused kernels' activation.
//!
//! Each is a table here, one row per variant of the Rust enum it encodes,
//! and a code is its row's place in the table: the numbers are written
//! nowhere. The shaders use the codes by name (`case TANH: …`); the host
//! appends the declarations (`const TANH: u32 = 7u;`) to a kernel's source
//! when it builds the pipeline (see [`Codes::wgsl`] and the kernel table in
//! `kernels.rs`), so the two sides cannot disagree.
//!
//! Adding a variant to one of the enums fails to compile until its row is
//! here; the shader's `switch` then needs an arm for the new name.

use crate::conv::ConvOp;
use minimax_autodiff::backend::Broadcast;
use minimax_autodiff::{Binary, Dist, Unary};
use std::fmt::Write;

/// `pub(crate) fn $code(value: $enum) -> u32`, the code of each variant,
/// and `$names`, the WGSL name of each code (the code is the index).
///
/// A row is `Variant => "NAME"`, with `(..)` or `{ .. }` after a variant
/// that has fields. The match over the enum has no wildcard, so a new
/// variant without a row is a compile error.
macro_rules! codes {
    (
        $(#[doc = $doc:literal])*
        $code:ident($enum:ident), $names:ident {
            $($variant:ident $(($($tuple:tt)*))? $({$($fields:tt)*})? => $name:literal,)*
        }
    ) => {
        $(#[doc = $doc])*
        pub(crate) fn $code(value: $enum) -> u32 {
            // One variant per row, in order: `Row::X as u32` is X's place.
            #[allow(clippy::enum_variant_names)]
            enum Row {
                $($variant,)*
            }
            match value {
                $($enum::$variant $(($($tuple)*))? $({$($fields)*})? => Row::$variant as u32,)*
            }
        }

        #[doc = concat!("The WGSL name of each code of [`", stringify!($code), "`], in order.")]
        pub(crate) const $names: &[&str] = &[$($name),*];
    };
}

codes! {
    /// `unary.wgsl`'s op code of `op` (its parameters go in `k`, `a` and
    /// `b`; see `unary_params`).
    unary_code(Unary), UNARY_NAMES {
        Neg => "NEG",
        AddScalar(..) => "ADD_SCALAR",
        MulScalar(..) => "MUL_SCALAR",
        Exp => "EXP",
        Log => "LOG",
        Sqrt => "SQRT",
        Powi(..) => "POWI",
        Tanh => "TANH",
        Sigmoid => "SIGMOID",
        Relu => "RELU",
        LeakyRelu(..) => "LEAKY_RELU",
        Elu(..) => "ELU",
        Softplus => "SOFTPLUS",
        Clamp(..) => "CLAMP",
    }
}

codes! {
    /// `binary.wgsl`'s op code of `op`.
    binary_code(Binary), BINARY_NAMES {
        Add => "ADD",
        Sub => "SUB",
        Mul => "MUL",
        Div => "DIV",
    }
}

codes! {
    /// The code of a broadcast rule in `binary.wgsl`, `broadcast.wgsl` and
    /// `bce.wgsl`.
    broadcast_code(Broadcast), BROADCAST_NAMES {
        Same => "SAME",
        Row => "ROW",
        Col => "COL",
        Scalar => "SCALAR",
    }
}

codes! {
    /// `random.wgsl`'s code of a distribution.
    dist_code(Dist), DIST_NAMES {
        Uniform { .. } => "UNIFORM",
        Normal { .. } => "NORMAL",
        Bernoulli { .. } => "BERNOULLI",
    }
}

codes! {
    /// `conv2d_gemm.wgsl`'s code of which of the three products it computes.
    conv_code(ConvOp), CONV_NAMES {
        Forward => "FORWARD",
        BackwardInput => "BACKWARD_INPUT",
        BackwardWeight => "BACKWARD_WEIGHT",
    }
}

/// The activations the fused kernels apply (`activation.wgsl`), each under
/// its `unary.wgsl` code and name with `ACT_` in front. A layer with another
/// activation runs as the plain ops.
pub(crate) const FUSED_ACTIVATIONS: [Unary; 5] =
    [Unary::Tanh, Unary::Sigmoid, Unary::Relu, Unary::LeakyRelu(0.0), Unary::Elu(0.0)];

/// `activation.wgsl`'s code for the identity: no `unary.wgsl` code.
pub(crate) const ACT_NONE: u32 = 100;
const _: () = assert!(ACT_NONE as usize >= UNARY_NAMES.len());

/// A set of codes a shader uses by name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Codes {
    /// [`unary_code`]: `NEG`, `ADD_SCALAR`, …
    Unary,
    /// `ACT_NONE` and the [`FUSED_ACTIVATIONS`]: `ACT_TANH`, …
    Activation,
    /// [`binary_code`]: `ADD`, `SUB`, `MUL`, `DIV`.
    Binary,
    /// [`broadcast_code`]: `SAME`, `ROW`, `COL`, `SCALAR`.
    Broadcast,
    /// [`dist_code`]: `UNIFORM`, `NORMAL`, `BERNOULLI`.
    Dist,
    /// [`conv_code`]: `FORWARD`, `BACKWARD_INPUT`, `BACKWARD_WEIGHT`.
    Conv,
}

impl Codes {
    /// Each name and its code.
    pub(crate) fn consts(self) -> Vec<(String, u32)> {
        let numbered = |names: &[&str]| -> Vec<(String, u32)> {
            names.iter().enumerate().map(|(code, name)| (name.to_string(), code as u32)).collect()
        };
        match self {
            Codes::Unary => numbered(UNARY_NAMES),
            Codes::Activation => {
                let fused = FUSED_ACTIVATIONS.iter().map(|&op| {
                    let code = unary_code(op);
                    (format!("ACT_{}", UNARY_NAMES[code as usize]), code)
                });
                std::iter::once(("ACT_NONE".to_string(), ACT_NONE)).chain(fused).collect()
            }
            Codes::Binary => numbered(BINARY_NAMES),
            Codes::Broadcast => numbered(BROADCAST_NAMES),
            Codes::Dist => numbered(DIST_NAMES),
            Codes::Conv => numbered(CONV_NAMES),
        }
    }

    /// The WGSL declarations of [`Codes::consts`], one `const` a line, under
    /// a comment saying where they come from (the host appends them to the
    /// shader; WGSL lets a module use a constant declared further down).
    pub(crate) fn wgsl(self) -> String {
        let mut out = format!("\n// {self:?} codes, generated from crates/wgsl/src/codes.rs.\n");
        for (name, code) in self.consts() {
            writeln!(out, "const {name}: u32 = {code}u;").expect("writing to a String");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Codes; 6] = [
        Codes::Unary,
        Codes::Activation,
        Codes::Binary,
        Codes::Broadcast,
        Codes::Dist,
        Codes::Conv,
    ];

    #[test]
    fn each_code_has_its_variants_name() {
        assert_eq!(UNARY_NAMES[unary_code(Unary::Neg) as usize], "NEG");
        assert_eq!(UNARY_NAMES[unary_code(Unary::LeakyRelu(0.2)) as usize], "LEAKY_RELU");
        assert_eq!(UNARY_NAMES[unary_code(Unary::Clamp(0.0, 1.0)) as usize], "CLAMP");
        assert_eq!(BINARY_NAMES[binary_code(Binary::Div) as usize], "DIV");
        assert_eq!(BROADCAST_NAMES[broadcast_code(Broadcast::Col) as usize], "COL");
        assert_eq!(DIST_NAMES[dist_code(Dist::Bernoulli { p: 0.5 }) as usize], "BERNOULLI");
        assert_eq!(CONV_NAMES[conv_code(ConvOp::BackwardInput) as usize], "BACKWARD_INPUT");
    }

    #[test]
    fn every_set_has_distinct_names_and_codes() {
        for codes in ALL {
            let consts = codes.consts();
            for (i, (name, code)) in consts.iter().enumerate() {
                for (other, other_code) in &consts[i + 1..] {
                    assert!(name != other && code != other_code, "{codes:?}: {name}, {other}");
                }
            }
        }
    }

    #[test]
    fn the_activation_codes_are_the_unary_ones() {
        let consts = Codes::Activation.consts();
        assert_eq!(consts[0], ("ACT_NONE".to_string(), ACT_NONE));
        assert_eq!(consts[1], ("ACT_TANH".to_string(), unary_code(Unary::Tanh)));
        assert_eq!(consts[4], ("ACT_LEAKY_RELU".to_string(), unary_code(Unary::LeakyRelu(0.2))));
        assert_eq!(consts.len(), 1 + FUSED_ACTIVATIONS.len());
    }

    #[test]
    fn the_wgsl_declares_each_code() {
        let tanh = unary_code(Unary::Tanh);
        let wgsl = Codes::Unary.wgsl();
        assert!(wgsl.contains(&format!("\nconst TANH: u32 = {tanh}u;\n")), "{wgsl}");
        let wgsl = Codes::Activation.wgsl();
        assert!(wgsl.contains(&format!("\nconst ACT_TANH: u32 = {tanh}u;\n")), "{wgsl}");
        assert!(wgsl.contains(&format!("\nconst ACT_NONE: u32 = {ACT_NONE}u;\n")), "{wgsl}");
    }
}

//! `Sequential`: names, counts and shapes come from the layers' specs; a
//! store that does not fit is refused by name; and an `Mlp` built as a
//! `Sequential` draws and computes exactly what the `Mlp` before it did.

use minimax_autodiff::{Backend, Shape, Tape};
use minimax_cpu::Cpu;
use minimax_nn::{
    Activation, BatchNorm1d, Context, Dropout, Init, LayerKind, Linear, Mlp, Module, Norm,
    Sequential,
};

type Be = Cpu<f64>;

/// `3 → 4` with batch norm, leaky ReLU and dropout, then `4 → 2`.
fn small() -> Sequential {
    let hidden: [LayerKind; 4] = [
        Linear { fan_in: 3, fan_out: 4 }.into(),
        BatchNorm1d::new(4).into(),
        Activation::LeakyRelu(0.2).into(),
        Dropout { keep: 0.5 }.into(),
    ];
    let output: [LayerKind; 2] =
        [Linear { fan_in: 4, fan_out: 2 }.into(), Activation::Identity.into()];
    Sequential::new().block(hidden).unwrap().block(output).unwrap()
}

fn named(specs: &[(&str, [usize; 2])]) -> Vec<(String, Shape)> {
    specs.iter().map(|(n, [r, c])| (n.to_string(), Shape::new(*r, *c))).collect()
}

#[test]
fn names_counts_and_shapes_come_from_the_layers_specs() {
    let net = small();
    let expected = named(&[
        ("layer0.weight", [3, 4]),
        ("layer0.bias", [1, 4]),
        ("layer0.gamma", [1, 4]),
        ("layer0.beta", [1, 4]),
        ("layer1.weight", [4, 2]),
        ("layer1.bias", [1, 2]),
    ]);
    assert_eq!(net.param_specs(), expected);
    assert_eq!(net.param_count(), 6);
    assert_eq!(net.blocks(), 2);
    assert_eq!(net.sizes(), vec![3, 4, 2]);
    assert_eq!((net.input_size(), net.output_size()), (Some(3), Some(2)));
    let running = named(&[("layer0.running_mean", [1, 4]), ("layer0.running_var", [1, 4])]);
    assert_eq!(net.running_specs(), running);

    // The stores are drawn in the same order, with the same names and shapes.
    let be = Be::new();
    let params = net.init_params(&be, Init::TorchDefault, 3);
    assert_eq!(params.specs(), expected);
    net.check_params(&params).unwrap();
    assert_eq!(net.init_running(&be).specs(), running);
    let blocks: Vec<usize> = net.layers().map(|(b, _)| b).collect();
    assert_eq!(blocks, vec![0, 0, 0, 0, 1, 1]);
}

#[test]
fn a_store_that_does_not_fit_is_refused_naming_the_parameter() {
    let be = Be::new();
    let net = small();
    // Too few parameters.
    let plain_net = Mlp::new(&[3, 4, 2], &[Activation::Tanh, Activation::Identity]).unwrap();
    let err = net.check_params(&plain_net.build().init_params(&be, Init::XavierUniform, 0));
    let err = err.unwrap_err().to_string();
    assert!(err.contains("the model has 6 parameters, the store 4"), "{err}");
    // The same names, one shape off.
    let plain = Mlp::new(&[3, 4, 2], &[Activation::Tanh, Activation::Identity]).unwrap();
    let off = Mlp::new(&[3, 4, 3], &[Activation::Tanh, Activation::Identity]).unwrap();
    let err = plain.build().check_params(&off.build().init_params(&be, Init::XavierUniform, 0));
    let err = err.unwrap_err().to_string();
    assert!(err.contains("expected layer1.weight of shape"), "{err}");
    // The same count, a name off: batch norm on the other layer.
    let bn0 = plain.clone().with_batch_norm(&[0]).unwrap().build();
    let bn1 = plain.with_batch_norm(&[1]).unwrap().build();
    let err = bn0.check_params(&bn1.init_params(&be, Init::XavierUniform, 0));
    let err = err.unwrap_err().to_string();
    assert!(err.contains("expected layer0.gamma of shape [1, 4], found layer1.weight"), "{err}");
}

#[test]
fn a_block_that_clashes_or_does_not_fit_is_refused() {
    let linear = |i, o| LayerKind::from(Linear { fan_in: i, fan_out: o });
    let err = Sequential::new().block([linear(2, 2), linear(2, 2)]).unwrap_err().to_string();
    assert!(err.contains("two tensors named layer0.weight"), "{err}");
    let err = Sequential::new().block([linear(2, 3)]).unwrap().block([linear(4, 1)]);
    assert!(err.unwrap_err().to_string().contains("takes 4 features"));
}

#[test]
fn the_forward_checks_its_parameters_and_running_state() {
    let be = Be::new();
    let net = small();
    let params = net.init_params(&be, Init::TorchDefault, 3);
    let tape = Tape::new(be);
    let x = tape.constant(be.upload(Shape::new(4, 3), &[0.5; 12]).unwrap()); // [4, 3]
    let vars = params.on_tape(&tape);
    let err = net.forward(&vars[..5], &x).unwrap_err().to_string();
    assert!(err.contains("the network has 6 parameters"), "{err}");
    // Batch norm without its running statistics.
    let err = net.forward(&vars, &x).unwrap_err().to_string();
    assert!(err.contains("no running state layer0.running_mean"), "{err}");
    // Evaluation reads them and leaves them; training updates them.
    let mut running = net.init_running(&be);
    let eval = Context::new().with_norm(Norm::Eval(&running));
    assert_eq!(net.forward_with(&vars, &x, eval).unwrap().shape(), Shape::new(4, 2));
    let before = running.download(&be).unwrap();
    let train = Context { norm: Some(Norm::Train(&mut running)), dropout_seed: Some(1) };
    net.forward_with(&vars, &x, train).unwrap();
    assert_ne!(running.download(&be).unwrap(), before);
    // The first block's output alone: the hidden features [4, 4].
    let eval = Context::new().with_norm(Norm::Eval(&running));
    assert_eq!(net.forward_blocks(&vars, &x, eval, 0..1).unwrap().shape(), Shape::new(4, 4));
}

fn fnv(h: &mut u64, xs: &[f64]) {
    for x in xs {
        for b in x.to_bits().to_le_bytes() {
            *h ^= b as u64;
            *h = h.wrapping_mul(0x100000001b3);
        }
    }
}

/// The checksums below were taken from the `Mlp` that built its layers
/// itself, before networks were `Sequential`s: the initial draws, a
/// training pass (batch statistics, dropout keep 0.75 from seed 11), its
/// gradients, the updated running statistics, and an evaluation pass, bit
/// for bit. (The passes' checksums were taken again when the reference
/// backend's `tanh` and `exp` became the `libm` crate's, the same on every
/// target: with `std`'s, the old ones still held; the draws did not change.)
#[test]
fn an_mlp_built_as_a_sequential_draws_and_computes_as_before() {
    let be = Be::new();
    let acts = [Activation::LeakyRelu(0.2), Activation::Tanh, Activation::Identity];
    let x: Vec<f64> = (0..18).map(|i| (i as f64 * 0.37).sin() * 2.0).collect(); // [6, 3]
    let cases = [
        (false, Init::XavierUniform, 0x82777b01bb8734de_u64, 0xe1382bdc7fad61d5_u64),
        (true, Init::TorchDefault, 0xbb3995f87759d045, 0x5f44023a63129957),
    ];
    for (bn, init, want_params, want_pass) in cases {
        let mut mlp = Mlp::new(&[3, 5, 4, 2], &acts).unwrap().with_dropout(0.75).unwrap();
        if bn {
            mlp = mlp.with_batch_norm(&[0, 1]).unwrap();
        }
        let net = mlp.build();
        let params = net.init_params(&be, init, 7);
        let mut running = net.init_running(&be);
        let mut h_params = 0xcbf29ce484222325u64;
        for p in params.download(&be).unwrap() {
            fnv(&mut h_params, &p);
        }
        let tape = Tape::new(be);
        let xv = tape.constant(be.upload(Shape::new(6, 3), &x).unwrap());
        let vars = params.on_tape(&tape);
        let train = Context { norm: Some(Norm::Train(&mut running)), dropout_seed: Some(11) };
        let y = net.forward_with(&vars, &xv, train).unwrap(); // [6, 2]
        let grads = tape.backward(&y.mul(&y).unwrap().sum()).unwrap();
        let mut h_pass = 0xcbf29ce484222325u64;
        fnv(&mut h_pass, &y.to_vec().unwrap());
        for v in &vars {
            fnv(&mut h_pass, &be.download(grads.get(v).unwrap()).unwrap());
        }
        for p in running.download(&be).unwrap() {
            fnv(&mut h_pass, &p);
        }
        let tape = Tape::new(be);
        let xv = tape.constant(be.upload(Shape::new(6, 3), &x).unwrap());
        let eval = Context::new().with_norm(Norm::Eval(&running));
        let e = net.forward_with(&params.constants(&tape), &xv, eval).unwrap();
        fnv(&mut h_pass, &e.to_vec().unwrap());
        assert_eq!(h_params, want_params, "initial parameters, batch norm {bn}");
        assert_eq!(h_pass, want_pass, "forward and backward, batch norm {bn}");
    }
}

//! The presets build exactly what they promise: `devnag` is Dev Nag's
//! "GANs in 50 lines of code" shape for shape and number for number, and
//! every config survives the JSON round trip a checkpoint puts it through.

use minimax_autodiff::{Shape, TensorShape};
use minimax_cpu::Cpu;
use minimax_gan::config::{DInput, GOutput, Latent};
use minimax_gan::{Config, GanLoss, Preset, Trainer};
use minimax_nn::{Activation, Init, LayerKind, OptimizerConfig, ParamStore, Sequential};

/// `(name, shape)` of every parameter, in order.
fn shapes(store: &ParamStore<Cpu<f64>>) -> Vec<(String, Shape)> {
    store.iter().map(|p| (p.name.clone(), p.tensor.shape())).collect()
}

/// The network's activations, in order.
fn activations(net: &Sequential) -> Vec<Activation> {
    net.layers()
        .filter_map(|(_, layer)| match layer {
            LayerKind::Act(act) => Some(*act),
            _ => None,
        })
        .collect()
}

fn named(list: &[(&str, usize, usize)]) -> Vec<(String, Shape)> {
    list.iter().map(|&(n, r, c)| (n.to_string(), Shape::new(r, c))).collect()
}

#[test]
fn devnag_builds_dev_nags_networks_and_hyperparameters() {
    let config = Config::preset(Preset::Devnag);
    // Training schedule: 5000 epochs of 20 D-steps then 20 G-steps, batch 500.
    assert_eq!((config.steps, config.d_steps, config.g_steps, config.batch), (5000, 20, 20, 500));
    // Data N(4, 1.25²); noise torch.rand = U[0, 1), one number per sample.
    assert_eq!((config.target.mean, config.target.std), (4.0, 1.25));
    assert_eq!(config.generator.latent, Latent::Uniform { lo: 0.0, hi: 1.0 });
    assert_eq!(config.generator.latent_dim, 1);
    // BCE after a sigmoid = the cross-entropy game; SGD(lr=1e-3, momentum=0.9) for both.
    assert_eq!(config.loss, GanLoss::NonSaturating);
    let sgd = OptimizerConfig::sgd(1e-3, 0.9);
    assert_eq!((config.g_optimizer, config.d_optimizer), (sgd, sgd));
    assert_eq!(config.init, Init::TorchDefault);
    // No tricks.
    assert_eq!(
        (config.real_label, config.label_noise, config.discriminator.dropout),
        (1.0, 0.0, 0.0)
    );

    let trainer = Trainer::new(Cpu::<f64>::new(), config).unwrap();
    // G: 1 → 5 → 5 → 1, tanh, tanh, linear.
    let g = trainer.generator();
    assert_eq!(g.net.sizes(), vec![1, 5, 5, 1]);
    assert_eq!(activations(&g.net), vec![Activation::Tanh, Activation::Tanh, Activation::Identity]);
    assert_eq!(g.output, GOutput::Linear);
    // D: the 4 moments → 10 → 10 → 1, sigmoid on the hidden layers; its last
    // sigmoid is inside bce_with_logits, so the last layer itself is linear.
    let d = trainer.discriminator();
    assert_eq!(d.input, DInput::Moments);
    assert_eq!(d.net.sizes(), vec![4, 10, 10, 1]);
    assert_eq!(
        activations(&d.net),
        vec![Activation::Sigmoid, Activation::Sigmoid, Activation::Identity]
    );

    assert_eq!(
        shapes(trainer.g_params()),
        named(&[
            ("layer0.weight", 1, 5),
            ("layer0.bias", 1, 5),
            ("layer1.weight", 5, 5),
            ("layer1.bias", 1, 5),
            ("layer2.weight", 5, 1),
            ("layer2.bias", 1, 1),
        ])
    );
    assert_eq!(
        shapes(trainer.d_params()),
        named(&[
            ("layer0.weight", 4, 10),
            ("layer0.bias", 1, 10),
            ("layer1.weight", 10, 10),
            ("layer1.bias", 1, 10),
            ("layer2.weight", 10, 1),
            ("layer2.bias", 1, 1),
        ])
    );
}

#[test]
fn torch_default_init_draws_weights_and_biases_from_plus_minus_one_over_sqrt_fan_in() {
    let trainer = Trainer::new(Cpu::<f64>::new(), Config::preset(Preset::Devnag)).unwrap();
    let be = Cpu::<f64>::new();
    for store in [trainer.g_params(), trainer.d_params()] {
        let values = store.download(&be).unwrap();
        for (p, v) in store.iter().zip(values) {
            // Both tensors of layer l share layer l's fan_in: the weight's rows.
            let layer = &p.name[..p.name.find('.').unwrap()];
            let fan_in = store
                .iter()
                .find(|q| q.name == format!("{layer}.weight"))
                .unwrap()
                .tensor
                .shape()
                .rows;
            let bound = 1.0 / (fan_in as f64).sqrt();
            assert!(v.iter().all(|x| x.abs() <= bound), "{}: a value beyond ±{bound}", p.name);
            // Spread over the range, not all zero or constant.
            let spread = v.iter().cloned().fold(f64::MIN, f64::max)
                - v.iter().cloned().fold(f64::MAX, f64::min);
            assert!(v.len() == 1 || spread > 0.1 * bound, "{}: values {v:?}", p.name);
        }
    }
}

#[test]
fn xavier_init_bounds_weights_and_zeroes_biases() {
    let trainer = Trainer::new(Cpu::<f64>::new(), Config::preset(Preset::Default)).unwrap();
    let be = Cpu::<f64>::new();
    for store in [trainer.g_params(), trainer.d_params()] {
        for (p, v) in store.iter().zip(store.download(&be).unwrap()) {
            let s = p.tensor.shape();
            if p.name.ends_with("bias") {
                assert!(v.iter().all(|&x| x == 0.0), "{} should start at 0", p.name);
            } else {
                let bound = (6.0 / (s.rows + s.cols) as f64).sqrt();
                assert!(v.iter().all(|x| x.abs() <= bound), "{}: beyond ±{bound}", p.name);
            }
        }
    }
}

#[test]
fn generator_and_discriminator_start_from_different_streams() {
    let trainer = Trainer::new(Cpu::<f64>::new(), Config::preset(Preset::Default)).unwrap();
    let be = Cpu::<f64>::new();
    // Layer 0's weights are U(-a, a) draws; map each back to the uniform
    // u = (w/a + 1)/2 it came from. Had G and D shared a seed, their first
    // draws would be the same u.
    let first_u = |store: &ParamStore<Cpu<f64>>| {
        let s = store.iter().next().unwrap().tensor.shape();
        let a = (6.0 / (s.rows + s.cols) as f64).sqrt();
        let w = store.download(&be).unwrap()[0].clone();
        w.iter().take(4).map(|x| (x / a + 1.0) / 2.0).collect::<Vec<_>>()
    };
    let (g, d) = (first_u(trainer.g_params()), first_u(trainer.d_params()));
    assert!(g.iter().zip(&d).all(|(x, y)| (x - y).abs() > 1e-9), "{g:?} vs {d:?}");
}

#[test]
fn configs_round_trip_through_json_and_bad_fields_are_named() {
    for preset in Preset::ALL {
        let mut config = Config::preset(preset);
        config.seed = u64::MAX - 7; // not representable as an f64: must stay exact
        config.generator.activation = Activation::LeakyRelu(0.1);
        config.discriminator.dropout = 0.3;
        let text = serde_json::to_string(&config).unwrap();
        let back: Config = serde_json::from_str(&text).unwrap();
        assert_eq!(back, config, "{preset}");
    }
    let mut json = serde_json::to_value(Config::preset(Preset::Default)).unwrap();
    json.as_object_mut().unwrap().remove("batch");
    let err = serde_json::from_value::<Config>(json.clone()).unwrap_err().to_string();
    assert!(err.contains("`batch`"), "{err}");
    json["batch"] = 64.into();
    json["bacth"] = 64.into();
    let err = serde_json::from_value::<Config>(json).unwrap_err().to_string();
    assert!(err.contains("unknown field `bacth`"), "{err}");
}

#[test]
fn invalid_configs_are_refused_with_the_field_named() {
    let base = Config::preset(Preset::Default);
    type Change = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|c| c.batch = 1), "batch"),
        // Either player may sit a step out (GAN Lab's 0 updates), not both.
        (Box::new(|c| (c.d_steps, c.g_steps) = (0, 0)), "cannot both be 0"),
        (Box::new(|c| c.d_steps = 101), "at most 100"),
        (Box::new(|c| c.discriminator.dropout = 1.0), "dropout"),
        (Box::new(|c| c.label_noise = 0.7), "label noise"),
        (Box::new(|c| c.d_optimizer = c.d_optimizer.with_lr(-1.0)), "D's optimizer"),
        // 1e-300 is 0 in f32: it would train nothing, silently.
        (Box::new(|c| c.g_optimizer = c.g_optimizer.with_lr(1e-300)), "G's optimizer"),
        (Box::new(|c| c.d_optimizer = OptimizerConfig::adam(1e-3, 0.5, 1.0, 1e-8)), "beta2 = 1.0"),
        (Box::new(|c| c.d_optimizer = OptimizerConfig::adam(1e-3, 0.5, 0.999, -1e-8)), "eps"),
        (Box::new(|c| c.batch = 100_000_000), "over the limit"),
        (Box::new(|c| c.generator.hidden = vec![100_000, 100_000]), "over the limit"),
        (
            Box::new(|c| {
                c.loss = GanLoss::Wasserstein;
                c.real_label = 0.9;
            }),
            "wasserstein",
        ),
    ];
    for (change, word) in cases {
        let mut c = base.clone();
        change(&mut c);
        let err = c.validate().unwrap_err();
        assert!(err.contains(word), "{err:?} should mention {word:?}");
        assert!(Trainer::new(Cpu::<f32>::new(), c).is_err());
    }
}

#[test]
fn losses_and_presets_parse_from_their_names_and_reject_others() {
    for loss in GanLoss::ALL {
        assert_eq!(loss.name().parse::<GanLoss>().unwrap(), loss);
    }
    let err = "hinge".parse::<GanLoss>().unwrap_err();
    assert_eq!(err, "unknown loss \"hinge\": expected one of minimax, non-saturating, least-squares, wasserstein");
    assert!("devnag".parse::<Preset>().is_ok());
    assert!("dcgan".parse::<Preset>().unwrap_err().contains("default or devnag"));
}

#[test]
fn dcgan_builds_the_peers_networks_shape_for_shape() {
    // ../shared/peers/dcgan_step_torch.py, tensor for tensor, in PyTorch's
    // order (a conv weight [C_out, C_in, k, k] flattened to [C_out, C_in·k·k];
    // a transposed conv's [C_in, C_out, k, k] to [C_in, C_out·k·k]).
    use minimax_gan::image::{nets, ImageConfig, ImageNet, ImagePreset};
    let c = ImageConfig::preset(ImagePreset::Dcgan, 784, 10);
    assert_eq!(
        (c.net, c.batch, c.latent_dim, c.loss),
        (ImageNet::Dcgan, 64, 100, GanLoss::NonSaturating)
    );
    assert_eq!(
        (c.g_optimizer, c.d_optimizer),
        (
            OptimizerConfig::adam(2e-4, 0.5, 0.999, 1e-8),
            OptimizerConfig::adam(2e-4, 0.5, 0.999, 1e-8)
        )
    );
    let (g, d) = nets::players(&c).unwrap();
    let be = Cpu::<f64>::new();
    let g_params = g.init_params(&be, c.init, 1);
    let d_params = d.init_params(&be, c.init, 2);
    assert_eq!(
        shapes(&g_params),
        named(&[
            ("layer0.weight", 100, 6272), // Linear(100, 128·7·7), stored [in, out]
            ("layer0.bias", 1, 6272),
            ("layer0.gamma", 1, 128), // BatchNorm2d(128)
            ("layer0.beta", 1, 128),
            ("layer1.weight", 128, 64 * 16), // ConvTranspose2d(128, 64, 4, 2, 1)
            ("layer1.bias", 1, 64),
            ("layer1.gamma", 1, 64), // BatchNorm2d(64)
            ("layer1.beta", 1, 64),
            ("layer2.weight", 64, 16), // ConvTranspose2d(64, 1, 4, 2, 1)
            ("layer2.bias", 1, 1),
        ])
    );
    assert_eq!(
        shapes(&d_params),
        named(&[
            ("layer0.weight", 64, 16), // Conv2d(1, 64, 4, 2, 1)
            ("layer0.bias", 1, 64),
            ("layer1.weight", 128, 64 * 16), // Conv2d(64, 128, 4, 2, 1)
            ("layer1.bias", 1, 128),
            ("layer1.gamma", 1, 128), // BatchNorm2d(128)
            ("layer1.beta", 1, 128),
            ("layer2.weight", 6272, 1), // Linear(128·7·7, 1)
            ("layer2.bias", 1, 1),
        ])
    );
    // PyTorch's counts: sum(p.numel() for p in G.parameters()) = 766,017, D's 138,817.
    let count =
        |s: &ParamStore<Cpu<f64>>| s.iter().map(|p| p.tensor.shape().numel()).sum::<usize>();
    assert_eq!((count(&g_params), count(&d_params)), (766_017, 138_817));
    assert_eq!(activations(&g), [Activation::Relu, Activation::Relu, Activation::Tanh]);
    assert_eq!(activations(&d), [Activation::LeakyRelu(0.2), Activation::LeakyRelu(0.2)]);
    // Running statistics: G's two BatchNorm2d and D's one.
    assert_eq!((g.running_specs().len(), d.running_specs().len()), (4, 2));
    // Conditional: the class joined to z, and 10 class planes beside D's image.
    let cond = ImageConfig { conditional: true, ..c.clone() };
    let (g, d) = nets::players(&cond).unwrap();
    assert_eq!((g.input_size(), d.input_size()), (Some(110), Some(11 * 784)));
    // Not a square of a side divisible by 4: refused, naming the pixels.
    let e = ImageConfig::preset(ImagePreset::Dcgan, 100, 10).validate().unwrap_err();
    assert!(e.contains("100 pixels") && e.contains("divisible by 4"), "{e}");
}

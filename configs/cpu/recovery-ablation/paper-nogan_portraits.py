# Recovery ablation: the paper's G_X/G_Y without the GAN terms (disc_* None): L1 terms only.
_base_ = ['./paper_portraits.py']
model = dict(disc_enhanced=None, disc_recovered=None)
optim_wrapper = dict(_delete_=True, constructor='PerNetworkOptimWrapperConstructor',
                     enhancer={{_base_.gan_adam}}, recoverer={{_base_.gan_adam}})

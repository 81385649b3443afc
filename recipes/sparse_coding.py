"""Learn a sparse-coding dictionary with ISTA inference on 8x8 mnist5k patches.

    python recipes/sparse_coding.py [--num-atoms 128] [--sparsity 0.5] [--ista-steps 100] [--smoke] [--out DIR]
"""

from mpkeras.models import SparseCoding
from mpkeras.train import autoencoders as ae


def make_model(args, data):
    size = args.patch_size
    return SparseCoding(input_shape=(size, size, 1), num_atoms=args.num_atoms, sparsity=args.sparsity,
                        ista_steps=args.ista_steps)


RECIPE = ae.patch_recipe("sparse_coding", make_model, epochs=15, batch_size=250, learning_rate=2e-3, patience=5)

if __name__ == "__main__":
    RECIPE.main()

"""Values for tests/test_recipe.c's label-smoothing golden test: PyTorch's cross_entropy with
label_smoothing=0.2 (float64) on fixed scores, printed as C initialisers. Run once with
/usr/bin/python3; the test needs no Python."""
import torch

x = torch.tensor([[1.5, -0.25, 0.75, 2.0, -1.0],
                  [0.0, 0.5, -0.5, 0.125, 3.0],
                  [-2.0, -1.5, 4.0, 0.25, 0.5]], dtype=torch.float64, requires_grad=True)
y = torch.tensor([3, 0, 2])
loss = torch.nn.functional.cross_entropy(x, y, label_smoothing=0.2)
loss.backward()
print("static const double golden_loss = %.17g;" % loss.item())
print("static const double golden_dx[15] = {" + ", ".join("%.17g" % v for v in x.grad.flatten().tolist()) + "};")

import torch

from evofool.vision_libs import import_timm, import_torchvision


def test_torchvision_imports_and_builds_a_model():
    torchvision = import_torchvision()
    network = torchvision.models.resnet18().eval()
    assert network(torch.zeros(1, 3, 32, 32)).shape == (1, 1000)


def test_import_is_idempotent_and_detection_ops_have_schemas():
    assert import_torchvision() is import_torchvision()
    assert hasattr(torch.ops.torchvision, "nms")


def test_timm_imports_after_the_shim():
    timm = import_timm()
    assert "efficientnet_lite0" in timm.list_models("efficientnet_lite0")

"""The WebGPU panel (py/app/panels/gpu.py over py/app/logic/gpu.py), in the app.

Chromium here offers WebGPU only with ``--enable-unsafe-webgpu`` (SwiftShader: a software
adapter, vendor "google", architecture "swiftshader", no shader-f16); without the flag
``requestAdapter()`` resolves to null. A third case fakes an adapter with shader-f16.
"""

from __future__ import annotations

from helpers import Q4F16, PageLog, open_app, shot
from playwright.sync_api import Page, expect

#: An adapter that says it has shader-f16 (SwiftShader's, with one more feature).
FAKE_F16 = """
(() => {
  if (!globalThis.GPU) return;
  const request = GPU.prototype.requestAdapter;
  GPU.prototype.requestAdapter = async function (...args) {
    const adapter = await request.apply(this, args);
    if (!adapter) return adapter;
    const features = new Set([...adapter.features, "shader-f16"]);
    return new Proxy(adapter, {
      get(target, prop) {
        if (prop === "features") return features;
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
})();
"""


def test_webgpu_on_swiftshader(page: Page, page_log: PageLog) -> None:
    open_app(page, {}, path="/?no-sw")
    panel = page.locator("#gpu-panel")
    expect(panel).to_have_attribute("data-webgpu", "yes")
    expect(page.locator("#gpu-summary")).to_have_text(
        "WebGPU is available: models run on this GPU."
    )
    expect(page.locator("#gpu-browser")).to_contain_text("on Linux")
    expect(page.locator("#gpu-adapter")).to_contain_text("swiftshader")
    expect(page.locator("#gpu-shader")).to_have_text(
        "No: q4f16 models are disabled; pick a q4f32 one."
    )
    expect(page.locator("#gpu-steps")).to_contain_text("software renderer")
    expect(page.locator(f'#model-select option[value="{Q4F16}"]')).to_be_disabled()
    shot(page, "gpu-swiftshader", "#gpu-panel")
    assert page_log.errors() == []


def test_no_webgpu_says_why_and_what_to_do(
    page_no_webgpu: Page, page_no_webgpu_log: PageLog
) -> None:
    page = open_app(page_no_webgpu, {}, path="/?no-sw")
    expect(page.locator("#gpu-panel")).to_have_attribute("data-webgpu", "no")
    expect(page.locator("#gpu-summary")).to_have_text("WebGPU is not available in this browser.")
    expect(page.locator("#gpu-why")).to_contain_text("requestAdapter() returned null")
    steps = page.locator("#gpu-steps li")
    # Headless Chromium on Linux: the flag to enable, and the demo meanwhile.
    expect(steps.first).to_contain_text("chrome://flags/#enable-unsafe-webgpu")
    expect(steps.last).to_contain_text("Scripted demo (not a language model)")
    expect(page.locator("#gpu-adapter")).to_have_count(0)
    expect(page.locator('#model-select option[value="scripted-demo"]')).to_be_enabled()
    shot(page, "gpu-missing", "#gpu-panel")
    assert page_no_webgpu_log.errors() == []


def test_an_adapter_with_shader_f16_enables_the_f16_models(page: Page) -> None:
    page.add_init_script(FAKE_F16)
    open_app(page, {}, path="/?no-sw")
    expect(page.locator("#gpu-shader")).to_have_text(
        "Yes: q4f16 models (smaller, faster) run here."
    )
    f16 = page.locator(f'#model-select option[value="{Q4F16}"]')
    expect(f16).to_be_enabled()
    expect(f16).to_have_text(f"{Q4F16} · 0.4 GB · low-resource · needs shader-f16")
    page.select_option("#model-select", Q4F16)
    expect(page.locator("#model-details .chip-f16")).to_have_text("needs shader-f16")

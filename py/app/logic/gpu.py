"""What the WebGPU panel says: whether this browser can run the models, and what to do.

Plain Python (``app/panels/gpu.py`` draws it): the input is what
``engine.webgpu_info()`` found and the browser's user agent.

>>> a = advice({"available": False, "reason": "navigator.gpu is missing"},
...            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
...            "Chrome/131.0.0.0 Safari/537.36")
>>> a.ok, a.browser
(False, 'Chrome 131 on Linux')
>>> print(a.steps[0][:60])
Chrome on Linux: enable chrome://flags/#enable-unsafe-webgpu
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Advice", "Browser", "adapter_text", "advice", "parse_user_agent"]

DEMO_HINT = (
    'Meanwhile, pick "Scripted demo (not a language model)" in the model list: it shows '
    "how the app works, with no download and no GPU."
)
SOFTWARE_ADAPTERS = ("swiftshader", "llvmpipe", "lavapipe", "warp", "software")


@dataclass(frozen=True)
class Browser:
    name: str = "Unknown"
    version: int = 0
    os: str = ""

    def __str__(self) -> str:
        text = self.name + (f" {self.version}" if self.version else "")
        return text + (f" on {self.os}" if self.os else "")


def parse_user_agent(ua: str) -> Browser:
    """The browser, its major version and the OS, from ``navigator.userAgent``.

    >>> str(parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    ...     "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"))
    'Edge 120 on Windows'
    >>> str(parse_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
    ...     "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15"))
    'Safari 18 on macOS'
    >>> str(parse_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:141.0) Gecko/20100101 "
    ...     "Firefox/141.0"))
    'Firefox 141 on Linux'
    >>> str(parse_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
    ...     "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1"))
    'Safari 18 on iOS'
    """
    if re.search(r"iPhone|iPad|iPod", ua):
        # Every iOS browser is WebKit: what matters is the iOS version.
        m = re.search(r"OS (\d+)_", ua)
        return Browser("Safari", int(m.group(1)) if m else 0, "iOS")
    if "Android" in ua:
        os = "Android"
    elif "CrOS" in ua:
        os = "ChromeOS"
    elif "Windows" in ua:
        os = "Windows"
    elif "Mac OS X" in ua or "Macintosh" in ua:
        os = "macOS"
    elif "Linux" in ua or "X11" in ua:
        os = "Linux"
    else:
        os = ""
    for name, pattern in (
        ("Edge", r"Edg(?:e|A)?/(\d+)"),
        ("Opera", r"OPR/(\d+)"),
        ("Firefox", r"Firefox/(\d+)"),
        ("Chrome", r"(?:Headless)?Chrome/(\d+)"),
        ("Safari", r"Version/(\d+)[\d.]* .*Safari/"),
    ):
        m = re.search(pattern, ua)
        if m:
            return Browser(name, int(m.group(1)), os)
    return Browser("Unknown", 0, os)


@dataclass(frozen=True)
class Advice:
    ok: bool
    headline: str
    browser: str
    reason: str = ""
    steps: list[str] = field(default_factory=list)
    adapter: str = ""
    shader_f16: str = ""
    software: bool = False


def adapter_text(info: Mapping[str, Any]) -> str:
    """The adapter's vendor, architecture and description (``GPUAdapter.info``).

    >>> adapter_text({"vendor": "google", "architecture": "swiftshader", "description": ""})
    'google · swiftshader'
    >>> adapter_text({})
    'not reported by the browser'
    """
    parts = [str(info.get(k) or "").strip() for k in ("vendor", "architecture", "description")]
    text = " · ".join(p for p in parts if p)
    return text or "not reported by the browser"


def _chromium_steps(browser: Browser) -> list[str]:
    name = browser.name if browser.name in ("Chrome", "Edge", "Opera") else "Chrome"
    if browser.version and browser.version < 113:
        return [f"Update {name}: WebGPU needs {name} 113 or later (you have {browser.version})."]
    if browser.os == "Linux":
        return [
            f"{name} on Linux: enable chrome://flags/#enable-unsafe-webgpu (and "
            f"#enable-vulkan), then restart {name}; or start it with --enable-unsafe-webgpu "
            "--enable-features=Vulkan."
        ]
    if browser.os == "Android":
        steps = ["Android: WebGPU needs Chrome 121+ on Android 12+ with a Qualcomm or ARM GPU."]
        if browser.version and browser.version < 121:
            steps.insert(0, f"Update Chrome (you have {browser.version}).")
        return steps
    return [
        f"{name} 113+ has WebGPU on by default on Windows, macOS and ChromeOS: it may be "
        "blocklisted for this GPU or driver. Check chrome://gpu (WebGPU: Hardware "
        "accelerated), update the GPU driver, or enable chrome://flags/#enable-unsafe-webgpu.",
        "Check that hardware acceleration is on (Settings > System).",
    ]


def _steps(browser: Browser, info: Mapping[str, Any]) -> list[str]:
    reason = str(info.get("reason") or "")
    if "secure context" in reason:
        return ["Open the app over https (or on localhost): WebGPU needs a secure context."]
    if browser.name in ("Chrome", "Edge", "Opera"):
        return _chromium_steps(browser)
    if browser.name == "Firefox":
        if browser.os == "Windows":
            if browser.version < 141:
                return [
                    f"Update Firefox: WebGPU is on by default from Firefox 141 on Windows "
                    f"(you have {browser.version or 'an older one'})."
                ]
            return [
                "Firefox 141+ has WebGPU on Windows: it may be blocked for this GPU or "
                "driver (see about:support), or set dom.webgpu.enabled in about:config."
            ]
        if browser.os == "macOS":
            return [
                "Firefox 145+ has WebGPU on macOS Tahoe 26 with Apple Silicon; elsewhere "
                "set dom.webgpu.enabled in about:config, or use Chrome or Safari 26+."
            ]
        return [
            f"Firefox on {browser.os or 'this system'}: WebGPU is experimental here: use "
            "Firefox Nightly, or set dom.webgpu.enabled in about:config; or use Chrome "
            "or Edge 113+."
        ]
    if browser.name == "Safari":
        if browser.version and browser.version < 26:
            return [
                f"Update to Safari 26 (macOS Tahoe 26, iOS 26, iPadOS 26, visionOS 26): "
                f"WebGPU is on by default there (you have Safari {browser.version}). On "
                "older Safari, try Develop > Feature Flags > WebGPU."
            ]
        return [
            "Safari 26+ has WebGPU on by default: check Develop > Feature Flags > WebGPU "
            "(macOS) or Settings > Apps > Safari > Advanced > Feature Flags (iOS)."
        ]
    return [
        "Use Chrome or Edge 113+ on desktop (on Linux enable "
        "chrome://flags/#enable-unsafe-webgpu), Safari 26+, or Firefox 141+ on Windows."
    ]


def advice(info: Mapping[str, Any], user_agent: str) -> Advice:
    """What to tell the user about WebGPU here.

    >>> ok = advice({"available": True, "vendor": "google", "architecture": "swiftshader",
    ...              "shader_f16": False}, "HeadlessChrome/131.0 Linux")
    >>> ok.ok, ok.software, ok.shader_f16.split(":")[0]
    (True, True, 'No')
    >>> advice({"available": False}, "")
    ... # doctest: +ELLIPSIS
    Advice(ok=False, headline='WebGPU is not available in this browser.', ...)
    """
    browser = parse_user_agent(user_agent)
    if not info.get("available"):
        steps = [*_steps(browser, info), DEMO_HINT]
        return Advice(
            ok=False,
            headline="WebGPU is not available in this browser.",
            browser=str(browser),
            reason=str(info.get("reason") or "The browser did not say why."),
            steps=steps,
        )
    adapter = adapter_text(info)
    software = any(
        s in f"{info.get('architecture', '')} {info.get('description', '')}".lower()
        for s in SOFTWARE_ADAPTERS
    )
    steps = []
    if software:
        steps.append("A software renderer (on the CPU): models run, but very slowly.")
    if info.get("shader_f16"):
        f16 = "Yes: q4f16 models (smaller, faster) run here."
    else:
        f16 = "No: q4f16 models are disabled; pick a q4f32 one."
    return Advice(
        ok=True,
        headline="WebGPU is available: models run on this GPU.",
        browser=str(browser),
        steps=steps,
        adapter=adapter,
        shader_f16=f16,
        software=software,
    )

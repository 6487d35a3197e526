from pyscript import document

from webllm_machine import LoadProgress, WebLLMClient
from webllm_machine.webllm_engine import WebLLMEngine

MODEL = "SmolLM2-360M-Instruct-q4f32_1-MLC"
status, reply = document.getElementById("status"), document.getElementById("reply")


def show(progress: LoadProgress) -> None:
    status.textContent = f"Loading {MODEL}: {progress.value:.0%} {progress.text}"


# web-llm's module from this site; the worker script from the wheel (worker_url=None).
engine = WebLLMEngine(module_url="../../static/vendor/web-llm/index.js", worker_url=None)
client = WebLLMClient(engine=engine)
await client.load_model(MODEL, on_progress=show)
status.textContent = f"{MODEL} is loaded; it says:"
async for delta in client.stream_chat([{"role": "user", "content": "Hello! Who are you?"}]):
    reply.textContent += delta
status.textContent = "Done."

"""ColorLab's web app: ``python app.py`` serves it on http://127.0.0.1:7860.

Gradio reads ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` to change the address (a Hugging
Face Space sets them). The app is also an API, see ``colorlab/ui/api.py``: ``/palette``,
``/recolor``, ``/colorize`` and ``/stylize``, callable with ``gradio_client``.
"""

from colorlab.ui import build_app, launch_options

demo = build_app()

if __name__ == "__main__":
    demo.launch(**launch_options())

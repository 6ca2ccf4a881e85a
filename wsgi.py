"""The WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi ...`. It never starts the scheduler."""
from core.app import create_app

app = create_app()

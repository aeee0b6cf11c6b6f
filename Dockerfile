# One image for web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN GRADHUB_MODE=production SECRET_KEY=build-only-collectstatic-key-000000000000000000000000 \
    python manage.py collectstatic --noinput

RUN useradd --create-home gradhub && mkdir -p /app/var/media && chown -R gradhub /app/var
USER gradhub
EXPOSE 8000
CMD ["gunicorn", "hub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]

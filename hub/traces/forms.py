from django import forms


class TraceUploadForm(forms.Form):
    file = forms.FileField(
        label="Trace file",
        help_text="A .trace file from python -m traces.capture -o run.trace train.py",
        widget=forms.ClearableFileInput(attrs={"accept": ".trace,application/octet-stream"}),
    )

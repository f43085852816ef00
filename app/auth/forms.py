from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class DevLoginForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])


class EmailSignInForm(FlaskForm):
    """The button of a mailed sign-in link's page: only its CSRF token."""

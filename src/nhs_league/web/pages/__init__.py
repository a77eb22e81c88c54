"""Page builders: each takes the app's state and request parameters and returns one typed context
(:mod:`nhs_league.web.models`), which the JSON API returns and the HTML template renders."""

"""schema.org `aggregateRating` and `review` for a product's JSON-LD (visible reviews only)."""

from shop.formatting import to_vn


def with_reviews(data: dict, product, reviews: list) -> dict:
    """`data` (the product's JSON-LD) plus its rating and reviews, when it has any."""
    if not product.rating_count:
        return data
    return {
        **data,
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": product.rating_average,
            "reviewCount": product.rating_count,
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [
            {
                "@type": "Review",
                "author": {"@type": "Person", "name": r.author_name},
                "datePublished": to_vn(r.created_at).date().isoformat(),
                "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5, "worstRating": 1},
                "reviewBody": r.body,
            }
            for r in reviews
        ],
    }

"""The lessons as data, in one place.  A lesson is a configuration of one page (its URL
parameters), the text of its card on the home page, the claim the page shows, and a check that
measures the claim on the runs (``Lesson``, ``Verdict``: ``lessons.core``).  One module per page
holds that page's lessons, in the order of its lesson menu, and ``measure(lesson)``, which makes
the runs from the lesson's settings with the engine, as the page does, and checks them.

The home page's cards, each page's lesson menu, caption and claim box, and the tests all read
these objects: a claim is stated once and checked wherever it is shown."""

from lessons import data, decay, gradients, landscape, network, online, race, tuning
from lessons.core import Lesson, Verdict

# Every page's lessons module, by the page's url path.
MODULES = {m.PAGE: m for m in (race, online, data, decay, gradients, network, landscape, tuning)}

# The lesson path of the home page, in the course's order.
PATH: list[Lesson] = [
    data.LESSONS["three"],
    race.LESSONS["momentum"],
    race.LESSONS["plateau"],
    race.LESSONS["adam_family"],
    race.LESSONS["sign_descent"],
    race.LESSONS["flat_minima"],
    online.LESSONS["adam_fails"],
    decay.LESSONS["oscillates"],
    gradients.LESSONS["vanishing"],
    network.LESSONS["defaults"],
    network.LESSONS["no_schedule"],
    network.LESSONS["orthogonal"],
    network.LESSONS["flat_network"],
    landscape.LESSONS["four"],
    tuning.LESSONS["classic"],
]

__all__ = ["MODULES", "PATH", "Lesson", "Verdict"]

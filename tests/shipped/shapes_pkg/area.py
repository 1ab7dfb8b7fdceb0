import math


def area(radius: float) -> float:
    return math.pi * radius**2


class Circle:
    def __init__(self, radius: float) -> None:
        self.radius = radius

    @staticmethod
    def unit_area() -> float:
        return area(1.0)
